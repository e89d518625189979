"""Notebook 04's exercises: synchronisation, a timer of one's own, and the peak figures.

04.2 is a coding exercise: the learner writes ``time_it(fn, sync, warmup, repeats)``,
which runs `fn` `warmup` times untimed, then times each of `repeats` calls between two
calls of `sync` and returns the median in seconds. The check runs it on a fake device:
a workload that, like a GPU's, only *queues* its work when called; the work is done,
and its time spent, when `sync` is called. A timer that does not synchronise then
measures nothing, and one that counts the warm-up or takes the mean is visibly off.
On a machine with a GPU, the check also times a real matrix product with it.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from resnet_lib.checks.core import EXERCISES, judge_choice, judge_number

H100 = "NVIDIA H100 80GB HBM3"  # what torch.cuda.get_device_name() says on an H100 SXM
# Exercise 04.4: the fraction of the bf16 peak that a ResNet-50 training run should reach.
TARGET_FRACTION = 0.4

# The fake workload of 04.2: slow warm-up calls, then fast calls with one slow outlier.
WARMUP, REPEATS = 2, 6
WARMUP_SECONDS, FAST_SECONDS, OUTLIER_SECONDS = 0.25, 0.02, 0.2


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


def _fake_costs() -> list[float]:
    timed = [FAST_SECONDS] * REPEATS
    timed[REPEATS // 2] = OUTLIER_SECONDS  # one slow call among the timed ones
    return [WARMUP_SECONDS] * WARMUP + timed


def _wrong_statistics(costs: list[float]) -> list[tuple[float, str]]:
    """What typical wrong timers return on `costs`, and what each one did."""
    timed = costs[WARMUP:]
    return [
        (statistics.mean(timed), "that is the mean: the one slow call drags it up; return the median"),
        (statistics.mean(costs), "that averages over the warm-up calls too: time only the calls after them"),
        (sum(costs) / REPEATS, "that counts the warm-up calls' time: start the clock after them"),
        (
            statistics.median(costs),
            "that takes the warm-up calls into the median: time only the calls after them",
        ),
    ]


def _judge_fake(time_it: Any) -> tuple[bool, str]:
    costs = _fake_costs()
    device = FakeDevice(costs)
    seconds = time_it(device.run, device.sync, WARMUP, REPEATS)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return (
            False,
            f"❌ Not yet: return the median time in seconds, a float; your timer returned {seconds!r}.",
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
            f"❌ Not yet: your timer never calls sync, so it measured only the queueing ({seconds * 1e3:.2f} ms): "
            "call sync() before starting and before stopping the clock."
        )
    right = statistics.median(costs[WARMUP:])
    if seconds < right / 2:
        return False, (
            f"❌ Not yet: your timer returned {seconds * 1e3:.2f} ms for work of {right * 1e3:.0f} ms: "
            "the clock stopped before the work was done: call sync() first, then read the clock."
        )
    for value, why in _wrong_statistics(costs):
        if abs(seconds - value) < 0.15 * value and abs(seconds - right) > 0.5 * right:
            return (
                False,
                f"❌ Not yet: your timer returned {seconds * 1e3:.0f} ms, not {right * 1e3:.0f} ms: {why}.",
            )
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
    if not right * 0.75 < seconds < right * 1.75:  # sleeping can overrun a little on a busy machine
        return (
            False,
            f"❌ Not yet: your timer returned {seconds * 1e3:.1f} ms for calls of {right * 1e3:.0f} ms.",
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
    return True, "and on this machine's GPU it agrees with torch.utils.benchmark"


def _judge_timer(time_it: Any) -> tuple[bool, str]:
    import torch

    if not callable(time_it):
        return (
            False,
            f"❌ Not yet: pass your function itself (its name, without parentheses), not {time_it!r}.",
        )
    ok, message = _judge_fake(time_it)
    if not ok:
        return ok, message
    where = "on a fake device whose work is done only at sync"
    if torch.cuda.is_available():
        ok, message = _judge_on_gpu(time_it)
        if not ok:
            return ok, message
        where += f", and {message}"
    # No time in the message: the notebook's stored output must not change from run to run.
    return (
        True,
        f"✅ Correct: your timer waits for the device, skips the warm-up and keeps the median, {where}.",
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


def register() -> None:
    """Put notebook 04's judges into `EXERCISES`."""
    EXERCISES["04.1"] = judge_choice(
        "b",
        {
            "a": "it copies nothing: results stay in GPU memory (.cpu() and .item() copy, and wait as a side effect).",
            "c": "kernels queued on one stream always run in order, with or without it.",
            "d": "that is torch.cuda.reset_peak_memory_stats().",
        },
    )
    EXERCISES["04.2"] = _judge_timer
    EXERCISES["04.3"] = judge_number(
        lambda: _peak("bf16") / _peak("tf32"),
        1,
        "Divide the two peaks of the H100 row in the table above.",
        lambda: [
            (
                _peak("bf16") / _peak("fp32"),
                "that compares with fp32 without tensor cores, but fp32 convolutions run as tf32 on them",
            ),
            (_peak("tf32") / _peak("bf16"), "that is the ratio upside down"),
        ],
    )
    EXERCISES["04.4"] = judge_number(
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
