"""Notebook 02's exercises: parameters of a block and of option C's shortcuts, and the experiment's.

A residual block's own ``forward`` (exercises 2 and 3) is checked by `check_block`.
02.5 predicts how a deep ResNet's features grow at initialisation; 02.6 reads the
stored weight norms of plain-56 (`resnet_lib.tools.degradation.MECHANISM_FILE`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from resnet_lib.checks.core import EXERCISES, Judge, as_float, judge_value


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
    """02.5: ResNet-110's feature RMS, from ResNet-56's and the square-root law (12 % allowed)."""

    def judge(answer: Any) -> tuple[bool, str]:
        value = as_float(answer)
        if value is None or not math.isfinite(value):
            return False, f"❌ Not yet: the answer is a number (an RMS); you gave {answer!r}."
        right, base = features_rms(110), features_rms(56)
        if abs(value - right) <= 0.12 * right:
            return True, f"✅ Correct: measured {right:.2f}; the square-root law holds."
        if abs(value - math.sqrt(54)) <= 0.01 * math.sqrt(54):
            why = (
                "that counts a variance of 1 per block; measure it instead: scale ResNet-56's own "
                "variance by the number of blocks"
            )
        elif abs(value - 2 * base) <= 0.1 * 2 * base:
            why = "that doubles the RMS with the number of blocks; variances add, so the RMS grows as its square root"
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


def _blocks(depth: int) -> list:
    from resnet_lib import resnet

    model = resnet(depth)
    return [block for stage in (model.layer1, model.layer2, model.layer3, model.layer4) for block in stage]


def _option_c_extra(
    depth: int, batchnorm: bool = True, every_block: bool = False, statistics: bool = False
) -> int:
    """What option C (a projection on every shortcut) adds to option B's ResNet of `depth`.

    The flags give the typical wrong counts: no BatchNorm, a projection on every block, or
    BatchNorm's running mean and variance counted as parameters.
    """
    total = 0
    for block in _blocks(depth):
        if block.downsample is None or every_block:
            width = block.conv1.in_channels if block.downsample is None else block.conv2.out_channels
            total += width * width + (2 * width if batchnorm else 0) + (2 * width if statistics else 0)
    return total


def _option_b_projections(depth: int) -> int:
    """The parameters of option B's own projections (where a stage begins)."""
    from resnet_lib.inspection import count_parameters

    return sum(count_parameters(b.downsample) for b in _blocks(depth) if b.downsample is not None)


def effective_step_drop(steps: int = 30) -> float:
    """By how much lr / |w|**2 of plain-56's first conv fell over its first `steps` steps."""
    from resnet_lib.tools.degradation import MECHANISM_FILE

    norms = json.loads(MECHANISM_FILE.read_text())["arms"]["plain-56"]["weight_norm"]
    return (norms[steps][0] / norms[0][0]) ** 2


def _judge_diagnosis() -> Judge:
    """02.6: the fall of the effective step, read off the table (5 % allowed for rounding)."""

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
    """Put notebook 02's judges into `EXERCISES` (the block forward is `check_block`'s)."""
    from resnet_lib.blocks import BasicBlock
    from resnet_lib.inspection import count_parameters

    bn = "BatchNorm learns 2 parameters per channel (its running mean and variance are buffers, not parameters)"
    EXERCISES["02.1"] = judge_value(
        lambda: count_parameters(BasicBlock(256, 256)),
        "Two 3x3 convs of 256 -> 256 channels (no bias), and two BatchNorms with 2 parameters per channel.",
        lambda: [
            (2 * 9 * 256 * 256, f"the BatchNorms are missing: {bn}"),
            (2 * 9 * 256 * 256 + 4 * 2 * 256, f"that counts the running statistics too: {bn}"),
            (2 * 9 * 256 * 256 + 2 * 256 + 2 * 2 * 256, "that counts a conv bias: the convs have none"),
            (9 * 256 * 256 + 2 * 256, "that is one conv and one BatchNorm: a basic block has two of each"),
        ],
    )
    EXERCISES["02.4"] = judge_value(
        lambda: _option_c_extra(34),
        "Find the shortcuts that are identities in option B (the shape does not change there); "
        "each becomes a 1x1 conv of c -> c channels plus a BatchNorm.",
        lambda: [
            (_option_c_extra(34, batchnorm=False), f"the BatchNorms are missing: {bn}"),
            (
                _option_c_extra(34) + _option_b_projections(34),
                "that counts the 3 projections option B already has (where a stage begins): "
                "the question asks what option C adds to option B",
            ),
            (
                _option_c_extra(34, every_block=True),
                "that gives all 16 blocks a new c -> c projection: where a stage begins, "
                "option B already has a projection, of other channels",
            ),
            (_option_c_extra(34, statistics=True), f"that counts the running statistics too: {bn}"),
            (13, "that is how many projections option C adds; the question asks for their parameters"),
        ],
    )
    EXERCISES["02.5"] = _judge_prediction()
    EXERCISES["02.6"] = _judge_diagnosis()
