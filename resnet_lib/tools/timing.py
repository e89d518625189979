"""Timing models honestly: warm-up, synchronisation, interleaving, medians.

CUDA calls return before the GPU has finished, so a clock read right after one
measures only the queueing: `synchronize` waits for the device first, and
`torch.utils.benchmark.Timer` does so around every measurement. The first steps pay
one-off costs (allocation, kernel choice, compilation), so they are run untimed.
`compare_training_step` alternates the models it compares (A, B, B, A, ...) so that a
machine getting faster or slower (turbo, other programs, heat) affects both alike,
and keeps medians, which one slow run cannot move. `profile_step` shows where the
time of one step goes. Notebook 05, sections 2 and 4.1.

Everything here is timed with the settings a training run uses for speed
(`speed_settings`: cuDNN's autotuner on, non-deterministic kernels allowed), not with
the repeatable ones `seed_everything()` leaves, which would time slower kernels.

The grid of notebook 05 (images/s, TFLOP/s, modes) is in `resnet_lib.tools.benchmark`.
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

from resnet_lib.device import synchronize
from resnet_lib.tools.step import TrainingStep, step_memory
from resnet_lib.tools.validate import check_int

__all__ = [
    "SPEED_SETTINGS",
    "StepStats",
    "compare_training_step",
    "interleaved_medians",
    "profile_step",
    "profile_table",
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
        memory_bytes: What `resnet_lib.tools.step.step_memory` measured.
        memory_kind: What `memory_bytes` counts, and what the step held (`step.STEP_CUDA_MEMORY`
            or `step.SAVED_MEMORY`).
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
    """Time forward + backward (no optimizer step) of models on one input, interleaved.

    Timed under `speed_settings` (cuDNN's autotuner on, non-deterministic kernels
    allowed), as a training run would use them; the settings are restored afterwards.

    Args:
        models: Name -> model, already on the device of `x` (each runs in train mode).
        x: The input batch.
        rounds: Timed rounds per model; the result is the median over rounds.
        steps_per_round: Training steps in one timed round.
        warmup: Untimed steps per model first (memory allocation, kernel selection).
        progress: Called with a line per stage and after every round (e.g. ``print``).

    Returns:
        Name -> `StepStats` with the median seconds per step and the step's memory.
    """
    # No optimizer: a step is forward + backward only.
    steps = {name: TrainingStep(model, x) for name, model in models.items()}
    say = progress or (lambda line: None)
    with speed_settings():
        say(f"  warm-up: {warmup} untimed steps per model ({SPEED_SETTINGS})")
        for step in steps.values():
            # With the autotuner on, this also settles its choice of algorithms.
            for _ in range(warmup):
                step()
        synchronize(x.device)
        plan = f"{rounds} rounds of {steps_per_round} steps per model"
        say(f"  timing: {plan}, interleaved")
        seconds = interleaved_medians(steps, rounds, steps_per_round, progress)
        say("  measuring memory: one more step per model")
        stats = {}
        for name, step in steps.items():
            stats[name] = StepStats(seconds[name], *step_memory(step))
        return stats


def profile_step(
    step: Callable[[], None],
    device: torch.device | str,
    row_limit: int = 8,
) -> str:
    """Profile one call of `step` with `torch.profiler`; a table of the top operations.

    Sorted by self time (an operation's own, without what it calls): on the GPU for
    CUDA, where the CPU time of an operation is only its launch, on the CPU elsewhere.
    Call `step` once before, so that one-off costs (allocation, autotuning) stay out.
    """
    from torch.profiler import ProfilerActivity, profile

    on_gpu = torch.device(device).type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    with _quiet_stderr(), profile(activities=activities) as prof:
        step()
        synchronize(device)
    return profile_table(prof.key_averages(), on_gpu, row_limit)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2: the profiler's C++ side writes start/stop lines (and,
    without a GPU, an error about it) straight to it, which say nothing about the step."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def profile_table(events: list, on_gpu: bool, row_limit: int = 8) -> str:
    """The `row_limit` operations of `events` (``prof.key_averages()``) with the most self
    time: name, self time in ms, its share of the total, calls; 86 characters wide. On the
    GPU the rows are PyTorch's operations, each with the time of the kernels it launched."""
    check_int("row_limit", row_limit)

    def self_us(event) -> float:  # microseconds; torch >= 2.4 says "device" for the GPU
        if not on_gpu:
            return event.self_cpu_time_total
        if hasattr(event, "self_device_time_total"):
            return event.self_device_time_total
        return event.self_cuda_time_total

    if on_gpu:  # each kernel is listed twice: as its own event and in the op that launched it
        events = [e for e in events if e.device_type == torch.autograd.DeviceType.CPU]
    where = "GPU" if on_gpu else "CPU"
    total = sum(self_us(e) for e in events) or 1.0
    lines = [f"{'operation':<56} {f'self {where} ms':>12} {'share':>8} {'calls':>7}"]
    for event in sorted(events, key=self_us, reverse=True)[:row_limit]:
        name = event.key if len(event.key) <= 56 else event.key[:53] + "..."
        share = 100 * self_us(event) / total
        lines.append(f"{name:<56} {self_us(event) / 1e3:12.3f} {share:7.1f}% {event.count:7d}")
    lines.append(f"self {where} time of all operations: {total / 1e3:.3f} ms")
    return "\n".join(lines)
