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
    """03.1: ResNet-110's feature RMS, predicted by the square-root law from a measured RMS.

    A prediction is judged against the law, not only against the measurement: near 2x the
    blocks, other laws (a log, a constant step of the RMS) land close to the measured value
    too. From ResNet-56 (the nearest depth) 2.5 % is allowed, for rounding; ResNet-20's,
    scaled by sqrt(54 / 9), also follows the law, and lands a little lower.
    """

    def judge(answer: Any) -> tuple[bool, str]:
        value = as_float(answer)
        if value is None or not math.isfinite(value):
            return False, f"❌ Not yet: the answer is a number (an RMS); you gave {answer!r}."
        measured, base, shallow = features_rms(110), features_rms(56), features_rms(20)
        for name, law in (
            ("ResNet-56's", base * math.sqrt(54 / 27)),
            ("ResNet-20's", shallow * math.sqrt(54 / 9)),
        ):
            if abs(value - law) <= 0.025 * law:
                return True, (
                    f"✅ Correct: the square-root law predicts {law:.2f} from {name} RMS; "
                    f"ResNet-110 measures {measured:.2f}."
                )
        if abs(value - math.sqrt(54)) <= 0.01 * math.sqrt(54):
            why = (
                "that counts a variance of 1 per block; measure it instead: scale ResNet-56's own "
                "variance by the number of blocks"
            )
        elif abs(value - 2 * base) <= 0.1 * 2 * base:
            why = "that doubles the RMS with the number of blocks; variances add, so the RMS grows as its square root"
        elif abs(value - (2 * base - shallow)) <= 0.01 * (2 * base - shallow):
            why = "that adds ResNet-20 -> 56's growth of the RMS once more; it is the variance that grows with the blocks"
        elif abs(value - base) <= 0.05 * base:
            why = "that is ResNet-56's: each block adds its branch's variance, so 27 more blocks add more"
        elif value < base:
            why = "the features shrink in that answer; twice the blocks add more variance, not less"
        else:
            why = (
                "count the blocks (3 per 6 layers: 27 in ResNet-56, 54 in ResNet-110) and scale the variance"
            )
        return False, f"❌ Not yet: you answered {value!r}: {why}."

    return judge


def effective_step_drop(steps: int = 30) -> float:
    """By how much lr / |w|**2 of plain-56's first conv fell over its first `steps` steps."""
    from resnet_lib.tools.degradation import MECHANISM_FILE

    norms = json.loads(MECHANISM_FILE.read_text())["arms"]["plain-56"]["weight_norm"]
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
