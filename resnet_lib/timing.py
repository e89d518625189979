"""Timing models honestly: warm-up, synchronisation, interleaving, medians.

CUDA calls return before the GPU has finished, so a clock read right after one
measures only the queueing: `synchronize` waits for the device first, and
`torch.utils.benchmark.Timer` does so around every measurement. The first steps pay
one-off costs (allocation, kernel choice, compilation), so they are run untimed.
`compare_training_step` alternates the models it compares (A, B, B, A, ...) so that a
machine getting faster or slower (turbo, other programs, heat) affects both alike,
and keeps medians, which one slow run cannot move. `profile_step` shows where the
time of one step goes. Notebook 04, sections 2 and 4.1.

Everything here is timed with the settings a training run uses for speed
(`speed_settings`: cuDNN's autotuner on, non-deterministic kernels allowed), not with
the repeatable ones `seed_everything()` leaves, which would time slower kernels.

The grid of notebook 04 (images/s, TFLOP/s, modes) is in `resnet_lib.tools.benchmark`.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils import benchmark

from resnet_lib.device import pick_device, seed_everything, synchronize
from resnet_lib.step import TrainingStep, step_memory
from resnet_lib.tools.validate import check_device, check_int, check_one_of

__all__ = [
    "SPEED_SETTINGS",
    "StepStats",
    "compare_training_step",
    "interleaved_medians",
    "parity_benchmark",
    "profile_step",
    "speed_settings",
]

#: What `speed_settings` sets, in words, for tables and results files.
SPEED_SETTINGS = "cudnn.benchmark on, deterministic algorithms off"


@contextlib.contextmanager
def speed_settings() -> Iterator[None]:
    """Run a block with the settings of a training run that wants speed, then restore them.

    `seed_everything()` asks for repeatable results: deterministic kernels only, and
    cuDNN's autotuner off (it may pick other algorithms on every run). A user training
    for speed does the opposite, so timings are taken that way: ``cudnn.benchmark`` on
    (cuDNN tries its algorithms for each new shape and keeps the fastest) and
    non-deterministic kernels allowed. On a CPU neither changes much.
    """
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
    )
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.benchmark = saved[2]


@dataclass(frozen=True)
class StepStats:
    """Median time of one training step and the memory it needs.

    Args:
        seconds: Median seconds per step.
        memory_bytes: What `resnet_lib.step.step_memory` measured.
        memory_kind: What `memory_bytes` counts (`resnet_lib.step.STEP_CUDA_MEMORY` or `SAVED_MEMORY`).
    """

    seconds: float
    memory_bytes: int
    memory_kind: str


def interleaved_medians(
    steps: dict[str, Callable[[], None]],
    rounds: int,
    steps_per_round: int,
    progress: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Median seconds per call of each step, timed in alternating order (A B, B A, ...).

    Args:
        steps: Name -> a function doing one step (already warmed up).
        rounds: Timed rounds per step; the result is the median over rounds.
        steps_per_round: Calls of the step in one timed round (`Timer.timeit`).
        progress: Called with a line after every round (e.g. ``print``): a slow
            device's benchmark takes minutes, and should say how far it is.
    """
    import time

    if not isinstance(steps, dict) or not steps or not all(callable(s) for s in steps.values()):
        raise TypeError(f"steps must be a non-empty dict of name -> function, got {steps!r}")
    check_int("rounds", rounds)
    check_int("steps_per_round", steps_per_round)
    timers = {name: benchmark.Timer("step()", globals={"step": step}) for name, step in steps.items()}
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    start = time.perf_counter()
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):  # a drift affects both alike
            times[name].append(timers[name].timeit(steps_per_round).median)
        if progress:
            elapsed = time.perf_counter() - start
            left = elapsed / (r + 1) * (rounds - r - 1)
            progress(f"  timed round {r + 1}/{rounds} ({elapsed:.0f} s so far, about {left:.0f} s left)")
    return {name: statistics.median(t) for name, t in times.items()}


def compare_training_step(
    models: dict[str, nn.Module],
    x: torch.Tensor,
    rounds: int = 7,
    steps_per_round: int = 3,
    warmup: int = 2,
    progress: Callable[[str], None] | None = None,
) -> dict[str, StepStats]:
    """Time forward + backward of several models on the same input, interleaved.

    Timed under `speed_settings` (cuDNN's autotuner on, non-deterministic kernels
    allowed), as a training run would use them; the settings are restored afterwards.

    Args:
        models: Name -> model, already on the device of `x` (each runs in train mode).
        x: The input batch.
        rounds: Timed rounds per model; the result is the median over rounds.
        steps_per_round: Training steps in one timed round.
        warmup: Untimed steps per model first (memory allocation, kernel selection).
        progress: Called with a line at each stage and after every round (e.g. ``print``).

    Returns:
        Name -> `StepStats` with the median seconds per step and the step's memory.
    """
    if not isinstance(models, dict) or not models:
        raise TypeError(f"models must be a non-empty dict of name -> model, got {models!r}")
    check_int("rounds", rounds)
    check_int("steps_per_round", steps_per_round)
    check_int("warmup", warmup, minimum=0)
    steps = {name: TrainingStep(model, x) for name, model in models.items()}  # checks model and x
    say = progress or (lambda line: None)
    with speed_settings():
        say(f"  warm-up: {warmup} untimed steps per model ({SPEED_SETTINGS})")
        for step in steps.values():
            for _ in range(warmup):  # with the autotuner on, also its choice of algorithms
                step()
        synchronize(x.device)
        say(f"  timing: {rounds} rounds of {steps_per_round} steps per model, interleaved")
        seconds = interleaved_medians(steps, rounds, steps_per_round, progress)
        say("  measuring memory: one more step per model")
        return {name: StepStats(seconds[name], *step_memory(step)) for name, step in steps.items()}


def parity_benchmark(
    depth: int = 50,
    batch_size: int = 8,
    image_size: int = 224,
    device: torch.device | str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, StepStats]:
    """resnet_lib against torchvision: same weights, same batch, training step.

    Args:
        depth: 18, 34, 50, 101 or 152.
        batch_size: Images per batch.
        image_size: Height and width of the images.
        device: Where to run, e.g. "cuda"; `pick_device()` when ``None``.
        progress: Called with a line at each stage (e.g. ``print``); see
            `compare_training_step`.
    """
    import torchvision

    from resnet_lib.models import RESNET_CONFIGS, resnet

    check_one_of("depth", depth, RESNET_CONFIGS)
    check_int("batch_size", batch_size)
    check_int("image_size", image_size)
    device = pick_device() if device is None else check_device("device", device)
    # Seeds only: the timing settings are compare_training_step's (speed_settings).
    seed_everything(0, num_threads=None, deterministic=False)
    ours = resnet(depth).to(device)
    theirs = getattr(torchvision.models, f"resnet{depth}")().to(device)
    ours.load_state_dict(theirs.state_dict(), strict=True)  # identical networks
    x = torch.randn(batch_size, 3, image_size, image_size, device=device)
    return compare_training_step({"resnet_lib": ours, "torchvision": theirs}, x, progress=progress)


def profile_step(step: Callable[[], None], device: torch.device | str, row_limit: int = 8) -> str:
    """Profile one call of `step` with `torch.profiler`; the table of the top operations.

    Operations are sorted by self time on the GPU for CUDA (the CPU time of a CUDA
    operation is only its launch), by self CPU time elsewhere. Call `step` once before,
    so that one-off costs (allocation, autotuning) stay out of the table.

    Args:
        step: What to profile, e.g. ``lambda: train_step(model, x)``.
        device: Where `step` runs, e.g. "cuda" (it is synchronised before the profile ends).
        row_limit: Rows of the table.
    """
    from torch.profiler import ProfilerActivity, profile

    if not callable(step):
        raise TypeError(f"step must be a function taking no arguments, got {step!r}")
    device = check_device("device", device)
    check_int("row_limit", row_limit)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    # The profiler's C++ side writes start/stop lines (and, without a GPU, an error about
    # it) straight to file descriptor 2; they say nothing about the step, so silence them.
    sys.stderr.flush()
    saved_fd = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with profile(activities=activities) as prof:
            step()
            synchronize(device)
    finally:
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(devnull)
    sort_by = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=sort_by, row_limit=row_limit)
