"""Notebook 03's exercises: the degradation experiment's.

03.1 predicts how a deep ResNet's features grow at initialisation; 03.2 reads the
stored weight norms of plain-56 (`resnet_lib.tools.degradation.MECHANISM_FILE`).
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from resnet_lib.checks.core import EXERCISES, Judge, as_float


@functools.lru_cache(maxsize=None)  # the same numbers every time: measured once
def features_rms(depth: int) -> float:
    """RMS of the features a new CIFAR ResNet (option A) hands its classifier, on the
    notebook's probe batch (128 generated images, seed 0, train mode)."""
    import os
    import random

    import numpy as np
    import torch

    from resnet_lib.cifar import cifar_resnet
    from resnet_lib.device import seed_everything
    from resnet_lib.tools.shapes import make_shapes

    images = make_shapes(128, 10, image_size=16)[0].tensors[0]
    # seed_everything sets the random generators, the threads and the backends' switches:
    # the learner's own come back unchanged after the check.
    saved = (random.getstate(), np.random.get_state(), torch.get_num_threads())
    cublas = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    switches = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
    )
    with torch.random.fork_rng():
        seed_everything()
        model = cifar_resnet(depth, shortcut="A")
        seen: dict[str, torch.Tensor] = {}
        hook = model.avgpool.register_forward_hook(lambda m, inputs, out: seen.update(x=inputs[0]))
        with torch.no_grad():
            model(images)
        hook.remove()
    random.setstate(saved[0])
    np.random.set_state(saved[1])
    torch.set_num_threads(saved[2])
    torch.use_deterministic_algorithms(switches[0], warn_only=switches[1])
    torch.backends.cudnn.benchmark = switches[2]
    if cublas is None:
        os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    return seen["x"].pow(2).mean().sqrt().item()


def _judge_prediction() -> Judge:
    """03.1: ResNet-110's feature RMS, predicted from the law the table shows.

    A prediction is judged against the law, not only against the measurement: near 2x the
    blocks, other laws (a log, a constant step of the RMS) land close to the measured value
    too. Two predictions are right, 2.5 % allowed for rounding: the square-root law scaled
    from ResNet-56 (the nearest depth), and the power law fitted through ResNet-20 and
    ResNet-56 (an exponent near 1/2).
    """

    def judge(answer: Any) -> tuple[bool, str]:
        value = as_float(answer)
        if value is None or not math.isfinite(value):
            return False, f"❌ Not yet: the answer is a number (an RMS); you gave {answer!r}."
        measured, base, shallow = features_rms(110), features_rms(56), features_rms(20)
        root = base * math.sqrt(54 / 27)
        exponent = math.log(base / shallow) / math.log(27 / 9)
        fitted = base * 2**exponent
        step_again = 2 * base - shallow  # ResNet-20 -> 56's growth of the RMS, added once more
        if abs(value - step_again) > 0.004 * step_again:
            for law in (root, fitted):
                if abs(value - law) <= 0.025 * law:
                    return True, (
                        f"✅ Correct: the RMS grows about as √blocks (√2 × {base:.2f} = {root:.2f}); "
                        f"ResNet-110 measures {measured:.2f}."
                    )
        if abs(value - step_again) <= 0.004 * step_again:
            why = "if you added ResNet-20 -> 56's growth of the RMS once more: that was for 18 blocks, not 27"
        elif abs(value - math.sqrt(54)) <= 0.01 * math.sqrt(54):
            why = (
                "that counts a variance of 1 per block; measure it instead: scale ResNet-56's own "
                "variance by the number of blocks"
            )
        elif abs(value - shallow * math.sqrt(54 / 9)) <= 0.01 * shallow * math.sqrt(54 / 9):
            why = "that scales ResNet-20's RMS; the law holds only roughly, so scale from the nearest depth, ResNet-56"
        elif abs(value - 2 * base) <= 0.1 * 2 * base:
            why = "that doubles the RMS with the number of blocks; compare how it grew from 9 to 27 blocks"
        elif abs(value - base) <= 0.05 * base:
            why = "that is ResNet-56's: each block adds to the stream, so 27 more blocks add more"
        elif value < base:
            why = "the features shrink in that answer; twice the blocks add more, not less"
        else:
            why = (
                "count the blocks (3 per 6 layers: 9, 27, 54), and find from ResNet-20 and ResNet-56 "
                "which power of them the RMS follows"
            )
        return False, f"❌ Not yet: you answered {value!r}: {why}."

    return judge


def effective_step_drop(steps: int = 30) -> float:
    """By how much lr / |w|**2 of plain-56's first conv fell over its first `steps` steps."""
    from resnet_lib.tools.degradation import MECHANISM_FILE

    seed_0 = json.loads(MECHANISM_FILE.read_text())["runs"][0]  # the seed notebook 03's table shows
    norms = seed_0["arms"]["plain-56"]["weight_norm"]
    return (norms[steps][0] / norms[0][0]) ** 2


def _judge_diagnosis() -> Judge:
    """03.2: the fall of the effective step, read off the table (5 % allowed for rounding)."""

    def judge(answer: Any) -> tuple[bool, str]:
        value = as_float(answer)
        if value is None or not math.isfinite(value) or value == 0:
            return False, f"❌ Not yet: the answer is a number (a factor); you gave {answer!r}."
        right = effective_step_drop()
        growth = math.sqrt(right)
        if abs(value - right) <= 0.05 * right:
            return True, f"✅ Correct: about {right:,.0f} times smaller."
        if abs(value - growth) <= 0.05 * growth:
            why = "that is how much |w| grew; the effective step is lr / |w|**2, so square it"
        elif abs(value - 1 / right) <= 0.05 / right or abs(value - 1 / growth) <= 0.05 / growth:
            why = "that is a fraction below 1: the question asks by what factor the step shrank (a number above 1)"
        else:
            why = "take |w| after 30 steps over |w| at step 0 for conv 1, then square the ratio"
        return False, f"❌ Not yet: you answered {value!r}: {why}."

    return judge


def register() -> None:
    """Put notebook 03's judges into `EXERCISES`."""
    EXERCISES["03.1"] = _judge_prediction()
    EXERCISES["03.2"] = _judge_diagnosis()
