"""Running the grid: each cell's training and inference steps, timed, with a retry on out-of-memory.

Configs that differ only in the implementation are timed together, interleaved
(`resnet_lib.tools.timing.interleaved_medians`), so that both see the same machine. Times
become images/s, achieved TFLOP/s (FLOPs counted by `resnet_lib.flops`) and the
fraction of the GPU's datasheet peak (`peaks`).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace

import torch
from torch import nn

from resnet_lib.device import pick_device, seed_everything, synchronize
from resnet_lib.flops import count_step_flops
from resnet_lib.precision import autocast
from resnet_lib.tools.benchmark.grid import BenchConfig, planned_device
from resnet_lib.tools.benchmark.peaks import peak_format, peak_tflops
from resnet_lib.tools.step import CUDA_MEMORY, SAVED_MEMORY, TrainingStep, step_memory
from resnet_lib.tools.timing import interleaved_medians, speed_settings
from resnet_lib.tools.validate import check_device, check_int


def memory_kind(device: torch.device | str) -> str:
    """What the grid measures as a training step's memory on `device` (`CUDA_MEMORY` or `SAVED_MEMORY`)."""
    return CUDA_MEMORY if planned_device("device", device).type == "cuda" else SAVED_MEMORY


class StepRunner:
    """A model set up as one grid cell says, with a training step and an inference step.

    Args:
        model: The network (moved to `device`, in the cell's memory format).
        cfg: The cell: batch, image size, precision, channels_last, compile.
        device: Where to run.
    """

    def __init__(self, model: nn.Module, cfg: BenchConfig, device: torch.device) -> None:
        self.cfg, self.device = cfg, device
        memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.model = model.to(device=self.device, memory_format=memory_format)
        self.forward = torch.compile(self.model) if cfg.compile else self.model
        g = torch.Generator(device="cpu").manual_seed(0)
        x = torch.randn(cfg.batch_size, 3, cfg.image_size, cfg.image_size, generator=g)
        self.x = x.to(self.device).contiguous(memory_format=memory_format)
        self.y = torch.randint(0, 1000, (cfg.batch_size,), generator=g).to(self.device)
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        # Cross-entropy on random labels, an SGD step, autocast and (fp16) a loss scaler.
        self.train_step = TrainingStep(self.model, self.x, self.y, optimizer, cfg.precision, self.forward)

    def infer_step(self) -> None:
        self.model.eval()
        with torch.inference_mode(), autocast(self.device, self.cfg.precision):
            self.forward(self.x)

    def train_memory(self, baseline: int) -> tuple[int, str]:
        """Memory of one training step, and what that number counts (`step_memory`).

        Args:
            baseline: CUDA memory allocated before this model came to the GPU (the other
                model of the group sits there too: only what this one adds is counted).
        """
        return step_memory(self.train_step, baseline)


def build_models(
    depth: int, impls: Sequence[str], weights: dict[int, dict[str, torch.Tensor]]
) -> dict[str, nn.Module]:
    """The same network from each implementation, holding the same weights.

    torchvision initialises the weights once per depth (kept in `weights`); every model
    is then built on the meta device (no initialisation, which takes seconds for the
    deep ones on a CPU) and given its own copy of them.
    """
    import torchvision

    from resnet_lib.models import resnet

    if depth not in weights:
        weights[depth] = getattr(torchvision.models, f"resnet{depth}")().state_dict()
    models = {}
    for impl in impls:
        with torch.device("meta"):
            model = (
                getattr(torchvision.models, f"resnet{depth}")() if impl == "torchvision" else resnet(depth)
            )
        model.load_state_dict({k: v.clone() for k, v in weights[depth].items()}, strict=True, assign=True)
        models[impl] = model
    return models


def time_group(
    configs: Sequence[BenchConfig],
    device: torch.device,
    rounds: int,
    steps_per_round: int,
    warmup: int,
    weights: dict[int, dict[str, torch.Tensor]],
) -> list[dict]:
    """Time configs that differ only in `impl`, interleaving them round by round."""
    cfg0 = configs[0]
    seed_everything(0, num_threads=None, deterministic=False)
    models = build_models(cfg0.depth, [c.impl for c in configs], weights)
    forward_flops, step_flops = count_step_flops(models[cfg0.impl], (1, 3, cfg0.image_size, cfg0.image_size))
    runners, first, memory = {}, {}, {}
    for cfg in configs:
        baseline = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
        runner = runners[cfg.impl] = StepRunner(models[cfg.impl], cfg, device)
        synchronize(device)
        start = time.perf_counter()
        runner.train_step()  # the first step: allocation, algorithm choice, compilation
        synchronize(device)
        first[cfg.impl] = time.perf_counter() - start
        for _ in range(warmup):
            runner.train_step()
            runner.infer_step()
        memory[cfg.impl] = runner.train_memory(baseline)

    train = interleaved_medians({impl: r.train_step for impl, r in runners.items()}, rounds, steps_per_round)
    infer = interleaved_medians({impl: r.infer_step for impl, r in runners.items()}, rounds, steps_per_round)

    fmt = peak_format(device, cfg0.precision)
    peak = peak_tflops(torch.cuda.get_device_name(device), fmt) if device.type == "cuda" else None
    rows = []
    for cfg in configs:
        train_s, infer_s = train[cfg.impl], infer[cfg.impl]
        train_tflops = step_flops * cfg.batch_size / train_s / 1e12
        infer_tflops = forward_flops * cfg.batch_size / infer_s / 1e12
        mem, kind = memory[cfg.impl]
        rows.append(
            {
                **asdict(cfg),
                "mode": cfg.mode,
                "train_ms": train_s * 1e3,
                "infer_ms": infer_s * 1e3,
                "train_img_s": cfg.batch_size / train_s,
                "infer_img_s": cfg.batch_size / infer_s,
                "first_train_step_s": first[cfg.impl],
                "train_memory_mib": mem / 2**20,
                "memory_kind": kind,
                "forward_gflop_per_image": forward_flops / 1e9,
                "train_gflop_per_image": step_flops / 1e9,
                "train_tflops": train_tflops,
                "infer_tflops": infer_tflops,
                "peak_format": fmt,
                "peak_tflops": peak,
                "train_fraction_of_peak": train_tflops / peak if peak else None,
                "infer_fraction_of_peak": infer_tflops / peak if peak else None,
            }
        )
    return rows


def _release(device: torch.device, compiled: bool) -> None:
    """Give back what a group of cells held: its compiled graphs and its cached GPU memory."""
    if compiled:
        torch._dynamo.reset()
    gc.collect()  # models caught in reference cycles (compiled ones are) go now, not later
    if device.type == "cuda":
        torch.cuda.empty_cache()


def run_grid(
    configs: Sequence[BenchConfig],
    device: torch.device | str | None = None,
    rounds: int = 5,
    steps_per_round: int = 3,
    warmup: int = 3,
    progress: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Time every config: inference and training-step throughput, memory, TFLOP/s.

    Configs that differ only in the implementation are timed together, interleaved
    (A, B, B, A, ...), after `warmup` untimed steps, and the medians over `rounds` are
    kept. A training step is zero_grad, forward, cross-entropy loss, backward and an SGD
    step; inference is a forward pass under `torch.inference_mode`. The grid runs under
    `resnet_lib.tools.timing.speed_settings` (cuDNN's autotuner on, non-deterministic kernels
    allowed), as a training run for speed would; the settings are restored afterwards.
    A group that runs out of memory is retried with half the batch (down to 1); its
    rows then hold the batch that fitted, and the halving is reported on stderr.

    Args:
        configs: The cells of the grid (see `grid_configs`, `default_grid`).
        device: Where to run, e.g. "cuda"; `pick_device()` when ``None``.
        rounds: Timed rounds per config and phase; the result is the median over rounds.
        steps_per_round: Steps in one timed round.
        warmup: Untimed training and inference steps per config, after the first step.
        progress: Called with each row as soon as it is measured (e.g. ``print``).

    Returns:
        One dict per config: the config, ``mode``, ``train_img_s``, ``infer_img_s``,
        ``train_ms``, ``infer_ms``, ``first_train_step_s``, ``train_memory_mib`` and
        ``memory_kind`` (`CUDA_MEMORY` on CUDA, `SAVED_MEMORY` elsewhere), FLOPs per image (``forward_gflop_per_image``,
        ``train_gflop_per_image``), achieved ``train_tflops`` / ``infer_tflops``, and the
        device's ``peak_tflops`` for ``peak_format`` with the fractions of it (None where
        the peak is not known).
    """
    if isinstance(configs, BenchConfig) or not isinstance(configs, Sequence):
        raise TypeError(f"configs must be a sequence of BenchConfig (e.g. a list), got {configs!r}")
    configs = list(configs)
    if not configs or not all(isinstance(c, BenchConfig) for c in configs):
        raise ValueError(f"configs must be a non-empty sequence of BenchConfig; got {configs!r}")
    check_int("rounds", rounds)
    check_int("steps_per_round", steps_per_round)
    check_int("warmup", warmup, minimum=0)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function taking a row (or None), got {progress!r}")
    device = pick_device(verbose=False) if device is None else check_device("device", device)

    groups: dict[BenchConfig, list[BenchConfig]] = {}
    for cfg in configs:
        groups.setdefault(replace(cfg, impl="resnet_lib"), []).append(cfg)

    rows: list[dict] = []
    weights: dict[int, dict[str, torch.Tensor]] = {}  # depth -> the weights every model starts from
    with speed_settings():
        for group in groups.values():
            group_rows = None
            while group_rows is None:
                try:
                    group_rows = time_group(group, device, rounds, steps_per_round, warmup, weights)
                except torch.OutOfMemoryError:
                    batch = group[0].batch_size
                    if batch == 1:
                        raise
                    print(
                        f"out of memory: ResNet-{group[0].depth} {group[0].mode} batch {batch},"
                        f" retrying with {batch // 2}",
                        file=sys.stderr,
                    )
                    group = [replace(c, batch_size=batch // 2) for c in group]
                # Here, outside the except block, the failed try's models and activations are
                # no longer referenced by the exception, so their memory can be given back.
                _release(device, compiled=group[0].compile)
            for row in group_rows:
                if progress:
                    progress(row)
            rows.extend(group_rows)
    return rows
