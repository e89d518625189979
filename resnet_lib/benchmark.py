"""Timing models honestly: warm-up, synchronisation, interleaving, medians.

`compare_training_step` times forward + backward of two models on the same batch,
alternating A, B, B, A, ... so that a machine getting faster or slower (turbo,
other programs, thermal limits) affects both equally, and reports medians, which
one slow run cannot move. `torch.utils.benchmark.Timer` does the synchronising
with the GPU (CUDA calls return before the GPU has finished).

Run the parity benchmark of the README from the command line:

    python -m resnet_lib.benchmark --depth 50 --batch-size 8
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils import benchmark

from .device import pick_device, seed_everything
from .inspection import saved_tensor_bytes


@dataclass(frozen=True)
class StepStats:
    """Median time of one training step and the memory it needs."""

    seconds: float
    memory_bytes: int
    memory_kind: str  # what memory_bytes measures


def _training_step(model: nn.Module, x: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    model(x).sum().backward()


def _step_memory(model: nn.Module, x: torch.Tensor) -> tuple[int, str]:
    if x.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        _training_step(model, x)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated(), "peak CUDA memory allocated"
    # No allocator statistics on the CPU: measure what autograd keeps for backward,
    # the part of the peak that grows with the batch.
    model.zero_grad(set_to_none=True)
    return saved_tensor_bytes(model, x), "memory saved for backward"


def compare_training_step(
    models: dict[str, nn.Module],
    x: torch.Tensor,
    rounds: int = 7,
    steps_per_round: int = 3,
    warmup: int = 2,
) -> dict[str, StepStats]:
    """Time forward + backward of several models on the same input, interleaved.

    Args:
        models: Name -> model, already on the device of `x` and in train mode.
        x: The input batch.
        rounds: Timed rounds per model; the result is the median over rounds.
        steps_per_round: Training steps in one timed round.
        warmup: Untimed steps per model first (memory allocation, kernel selection).

    Returns:
        Name -> `StepStats` with the median seconds per step and the step's memory.
    """
    if rounds < 1 or steps_per_round < 1 or warmup < 0:
        raise ValueError(
            f"need rounds >= 1, steps_per_round >= 1, warmup >= 0; got {rounds}, {steps_per_round}, {warmup}"
        )
    timers = {
        name: benchmark.Timer("step(model, x)", globals={"step": _training_step, "model": m, "x": x})
        for name, m in models.items()
    }
    for timer in timers.values():
        for _ in range(warmup):
            timer.timeit(1)
    times: dict[str, list[float]] = {name: [] for name in models}
    names = list(models)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):  # A B, B A, A B, ...
            times[name].append(timers[name].timeit(steps_per_round).median)
    stats = {}
    for name, m in models.items():
        memory, kind = _step_memory(m, x)
        stats[name] = StepStats(statistics.median(times[name]), memory, kind)
    return stats


def parity_benchmark(
    depth: int = 50, batch_size: int = 8, image_size: int = 224, device: torch.device | None = None
) -> dict[str, StepStats]:
    """resnet_lib against torchvision: same weights, same batch, training step.

    Args:
        depth: 18, 34, 50, 101 or 152.
        batch_size: Images per batch.
        image_size: Height and width of the images.
        device: Where to run; `pick_device()` when ``None``.
    """
    import torchvision

    from .models import resnet

    seed_everything(0, num_threads=None)
    device = device or pick_device()
    ours = resnet(depth).to(device)
    theirs = getattr(torchvision.models, f"resnet{depth}")().to(device)
    ours.load_state_dict(theirs.state_dict(), strict=True)  # identical networks
    x = torch.randn(batch_size, 3, image_size, image_size, device=device)
    return compare_training_step({"resnet_lib": ours, "torchvision": theirs}, x)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Time resnet_lib against torchvision (forward + backward).")
    parser.add_argument("--depth", type=int, default=50, choices=[18, 34, 50, 101, 152])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best available)")
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else None
    stats = parity_benchmark(args.depth, args.batch_size, args.image_size, device)
    ours, theirs = stats["resnet_lib"], stats["torchvision"]
    print(f"ResNet-{args.depth}, batch {args.batch_size}, {args.image_size}x{args.image_size}, forward + backward")
    for name, s in stats.items():
        print(f"  {name:12s} {s.seconds * 1e3:9.1f} ms/step   {s.memory_bytes / 2**20:8.1f} MiB ({s.memory_kind})")
    print(f"  time ratio   (resnet_lib / torchvision): {ours.seconds / theirs.seconds:.3f}")
    print(f"  memory ratio (resnet_lib / torchvision): {ours.memory_bytes / theirs.memory_bytes:.3f}")


if __name__ == "__main__":
    main()
