"""Notebook 05's exercises: synchronisation, a timer of one's own, and the peak figures.

05.2 is a coding exercise: the learner writes ``time_it(fn, sync, warmup, repeats)``,
which runs `fn` `warmup` times untimed, then times each of `repeats` calls between two
calls of `sync` and returns the median in seconds. The check runs it on a fake device:
a workload that, like a GPU's, only *queues* its work when called; the work is done,
and its time spent, when `sync` is called. A timer that does not synchronise then
measures nothing, and one that counts the warm-up or takes a mean is visibly off.
On a machine with a GPU, the check also times a real matrix product with it.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from resnet_lib.checks.core import EXERCISES, as_float, judge_choice, judge_number

H100 = "NVIDIA H100 80GB HBM3"  # what torch.cuda.get_device_name() says on an H100 SXM
# Exercise 05.4: the fraction of the bf16 peak that a ResNet-50 training run should reach.
TARGET_FRACTION = 0.4

# The fake workload of 05.2: slow warm-up calls, then timed calls of different lengths with
# one slow outlier (first, so that a timer whose first timed call also waits for the warm-up
# still returns the median, and its missing sync is named), so that the median, the mean,
# the fastest call and the statistics that take in the warm-up all differ. The check
# runs it twice, the second time with every call SLOWER times longer, so that a timer that
# returns a fixed number cannot pass.
WARMUP = 2
WARMUP_SECONDS = 0.3
TIMED_SECONDS = (0.2, 0.012, 0.09, 0.03, 0.024, 0.034, 0.1)
REPEATS = len(TIMED_SECONDS)
SLOWER = 1.6
SLACK = 0.004  # seconds a sleep may overrun on a busy machine


class FakeDevice:
    """A workload whose time, as on a GPU, is spent only when someone synchronises.

    Each call of `run` queues the next cost of `costs` and returns at once; `sync`
    sleeps for everything queued. `events` records, for every call, how much work was
    still queued when it was made.
    """

    def __init__(self, costs: list[float]) -> None:
        self.costs = costs
        self.queued = 0.0
        self.queued_at_call: list[float] = []
        self.syncs = 0

    def run(self) -> None:
        self.queued_at_call.append(self.queued)
        self.queued += self.costs[min(len(self.queued_at_call), len(self.costs)) - 1]

    def sync(self) -> None:
        self.syncs += 1
        time.sleep(self.queued)
        self.queued = 0.0


def _fake_costs(scale: float = 1.0) -> list[float]:
    return [scale * c for c in [WARMUP_SECONDS] * WARMUP + list(TIMED_SECONDS)]


def _wrong_statistics(costs: list[float]) -> list[tuple[float, str]]:
    """What typical wrong timers return on `costs`, and what each one did."""
    timed = sorted(costs[WARMUP:])
    # A mean, trimmed or not, is pulled up by the slow calls; the median is not.
    averaged = "that averages the calls (a mean, trimmed or not), which slow calls pull up: return the median"
    return [
        (statistics.mean(timed), averaged),
        (statistics.mean(timed[1:-1]), averaged),  # the fastest and the slowest call dropped
        (statistics.mean(timed[:-1]), averaged),  # the slowest call dropped
        (min(timed), "that is the fastest call (the minimum); the exercise asks for the median"),
        (statistics.mean(costs), "that averages over the warm-up calls too: time only the calls after them"),
        (sum(costs) / REPEATS, "that counts the warm-up calls' time: start the clock after them"),
        (
            statistics.median(costs),
            "that takes the warm-up calls into the median: time only the calls after them",
        ),
    ]


def _judge_fake(time_it: Any, scale: float = 1.0) -> tuple[bool, str]:
    costs = _fake_costs(scale)
    device = FakeDevice(costs)
    returned = time_it(device.run, device.sync, WARMUP, REPEATS)
    seconds = as_float(returned)
    if seconds is None:
        return (
            False,
            f"❌ Not yet: return the median time in seconds, a float; your timer returned {returned!r}.",
        )
    calls = len(device.queued_at_call)
    if calls == REPEATS:
        return (
            False,
            f"❌ Not yet: fn ran {calls} times, with no warm-up: run it warmup times first, untimed.",
        )
    if calls != WARMUP + REPEATS:
        return False, (
            f"❌ Not yet: with warmup={WARMUP} and repeats={REPEATS}, fn ran {calls} times; "
            f"it should run {WARMUP + REPEATS} times."
        )
    if device.syncs == 0:
        return False, (
            f"❌ Not yet: your timer never calls sync, so it measured only the queueing ({seconds:.2g} s): "
            "call sync() before starting and before stopping the clock."
        )
    right = statistics.median(costs[WARMUP:])
    for factor, unit in ((1e3, "milliseconds"), (1e6, "microseconds"), (1e9, "nanoseconds")):
        if 0.5 * factor * right < seconds < 2 * factor * right:
            return False, (
                f"❌ Not yet: your timer returned {seconds:.4g} for calls of about {right:.3f} s: "
                f"that is {unit}; return seconds (time.perf_counter() counts seconds)."
            )
    if seconds < right / 2:
        for value, why in _wrong_statistics(costs):
            if abs(seconds - value) < 0.15 * value + SLACK:
                return False, f"❌ Not yet: your timer returned {seconds:.4f} s, not {right:.4f} s: {why}."
        return False, (
            f"❌ Not yet: your timer returned {seconds:.4f} s for work of {right:.4f} s: "
            "the clock stopped before the work was done: call sync() first, then read the clock."
        )
    for value, why in _wrong_statistics(costs):
        if abs(seconds - value) < 0.15 * value + SLACK and abs(seconds - right) > 0.3 * right:
            return False, f"❌ Not yet: your timer returned {seconds:.4f} s, not {right:.4f} s: {why}."
    late = [i for i, queued in enumerate(device.queued_at_call[WARMUP:]) if queued > 0]
    if late and late[0] == 0:
        return False, (
            "❌ Not yet: the warm-up's work was still queued when the first timed call began: "
            "call sync() after the warm-up, before starting the clock."
        )
    if late or device.queued > 0:
        return (
            False,
            "❌ Not yet: a timed call's work was still queued: call sync() before you stop the clock.",
        )
    if not right * 0.8 < seconds < right * 1.3 + SLACK:  # sleeping can overrun a little on a busy machine
        return False, (
            f"❌ Not yet: your timer returned {seconds:.4f} s where the median call takes {right:.4f} s: "
            "time each call on its own and return the median of those times."
        )
    return True, ""


def _judge_on_gpu(time_it: Any) -> tuple[bool, str]:
    """Time a real matrix product with the learner's timer and with torch.utils.benchmark."""
    import torch
    from torch.utils import benchmark

    a = torch.randn(2048, 2048, device="cuda")
    reference = benchmark.Timer("a @ a", globals={"a": a}).timeit(20).median
    seconds = time_it(lambda: a @ a, torch.cuda.synchronize, 3, 20)
    if not 0.7 < seconds / reference < 1.4:
        return False, (
            f"❌ Not yet: on the GPU your timer gave {seconds * 1e3:.3f} ms for a 2048 x 2048 matrix product, "
            f"torch.utils.benchmark {reference * 1e3:.3f} ms."
        )
    return True, "on this GPU it agrees with torch.utils.benchmark"


def _judge_timer(time_it: Any) -> tuple[bool, str]:
    import torch

    if not callable(time_it):
        return (
            False,
            f"❌ Not yet: pass your function itself (its name, without parentheses), not {time_it!r}.",
        )
    for scale in (1.0, SLOWER):  # a timer must follow the work: a fixed number cannot pass
        ok, message = _judge_fake(time_it, scale)
        if not ok:
            return ok, message
    where = "fake device"  # whose work is done only at sync
    if torch.cuda.is_available():
        ok, message = _judge_on_gpu(time_it)
        if not ok:
            return ok, message
        where += f"; {message}"
    # No time in the message: the notebook's stored output must not change from run to run.
    return (
        True,
        f"✅ Correct: your timer waits for the device, skips the warm-up and keeps the median ({where}).",
    )


def _flops_resnet50() -> tuple[int, int]:
    """FLOPs of ResNet-50's forward pass and of a training step (forward and backward), per image."""
    from resnet_lib.flops import count_step_flops
    from resnet_lib.models import resnet

    return count_step_flops(resnet(50), (1, 3, 224, 224))


def _peak(precision: str) -> float:
    """The H100 SXM's datasheet peak in TFLOP/s (imported when a check runs, not before)."""
    from resnet_lib.tools.benchmark.peaks import peak_tflops

    return peak_tflops(H100, precision)


def _images_per_second(fraction: float, flops_per_image: float) -> float:
    return fraction * _peak("bf16") * 1e12 / flops_per_image


# Exercise 05.3: the time of a tf32 training step, split into convolutions (limited by the
# tensor cores' peak), memory-bound layers (BatchNorm, ReLU, additions: limited by bytes
# moved) and the rest (kernel launches, the optimizer, Python), which bf16 does not shrink.
STEP_SHARES = {"convolutions": 0.5, "memory-bound": 0.3, "rest": 0.2}


def _step_parts(memory_gain: bool = True, peak: str = "tf32") -> list[tuple[float, float]]:
    """(share of the tf32 step's time, largest speed-up bf16 gives it) for each part."""
    return [
        (STEP_SHARES["convolutions"], _peak("bf16") / _peak(peak)),
        (STEP_SHARES["memory-bound"], 2.0 if memory_gain else 1.0),  # 2 bytes a number, not 4
        (STEP_SHARES["rest"], 1.0),
    ]


def _bf16_step_bound(memory_gain: bool = True, peak: str = "tf32") -> float:
    """The largest speed-up of the whole step: its old time over the sum of the new ones."""
    return 1.0 / sum(share / speedup for share, speedup in _step_parts(memory_gain, peak))


def register() -> None:
    """Put notebook 05's judges into `EXERCISES`."""
    EXERCISES["05.1"] = judge_choice(
        "c",
        {
            "a": "the loss is one number, 4 bytes: copying it takes microseconds. What else must "
            ".item() do before it can copy the loss?",
            "b": "printing a line takes microseconds, far less than the 100 ms that appeared.",
            "d": "kernels queued on one stream always run in the order they were queued, "
            "with or without .item().",
        },
    )
    EXERCISES["05.2"] = _judge_timer
    EXERCISES["05.3"] = judge_number(
        _bf16_step_bound,
        2,
        "Give each part of the step its new time (its share of the old time divided by its "
        "speed-up), add them up, and divide the old time by the new one.",
        lambda: [
            (
                _peak("bf16") / _peak("tf32"),
                "that is the convolutions' speed-up alone: the parts of the step that do not "
                "shrink keep their time",
            ),
            (
                sum(share * speedup for share, speedup in _step_parts()),
                "that averages the speed-ups: add up the new times instead, and divide the old "
                "time by their sum",
            ),
            (
                _bf16_step_bound(memory_gain=False),
                "the memory-bound layers gain too: bf16 halves the bytes they read and write",
            ),
            (
                _bf16_step_bound(peak="fp32"),
                "that compares with fp32 without tensor cores, but fp32 convolutions run as tf32 on them",
            ),
        ],
    )
    EXERCISES["05.4"] = judge_number(
        lambda: _images_per_second(TARGET_FRACTION, _flops_resnet50()[1]),
        -2,
        "FLOP/s needed = fraction x peak; divide by the FLOPs of one image's training step.",
        lambda: [
            (
                _images_per_second(TARGET_FRACTION, _flops_resnet50()[0]),
                "that uses the forward pass only: a training step also runs backward, about twice the forward",
            ),
            (
                _images_per_second(TARGET_FRACTION, _flops_resnet50()[1] / 2),
                "that divides by multiply-adds: one is 2 FLOPs, and the peak counts FLOPs",
            ),
            (
                _images_per_second(1.0, _flops_resnet50()[1]),
                f"that is the whole peak; the target is {TARGET_FRACTION:.0%} of it",
            ),
        ],
    )
