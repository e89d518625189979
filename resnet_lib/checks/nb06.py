"""Notebook 06's exercises: grouped convolutions and a ResNeXt block by design."""

from __future__ import annotations

from typing import Any

from resnet_lib.checks.core import EXERCISES, as_ints, judge_value


def _judge_resnext_design(answer: Any) -> tuple[bool, str]:
    """Exercise 06.2: (groups, base_width) of a stage-1 Bottleneck 4x as wide inside as
    ResNet-50's, whose 3x3 conv has as many weights as ResNet-50's dense one."""
    from resnet_lib.blocks import Bottleneck

    ints = as_ints(answer)
    if ints is None or len(ints) != 2 or min(ints) < 1:
        return (
            False,
            f"❌ Not yet: the answer is a tuple (groups, base_width) of positive ints; you gave {answer!r}.",
        )
    groups, base_width = answer = ints
    target_width, target_weights = 4 * 64, Bottleneck(256, 64).conv2.weight.numel()
    width = 64 * base_width // 64 * groups
    if width != target_width:
        return (
            False,
            f"❌ Not yet: the inner width is groups · base_width = {width}; it should be 4 · 64 = {target_width}.",
        )
    weights = Bottleneck(256, 64, groups=groups, base_width=base_width).conv2.weight.numel()
    if weights != target_weights:
        more = "more" if weights > target_weights else "fewer"
        return False, (
            f"❌ Not yet: that 3x3 conv has {weights:,} weights, {more} than ResNet-50's {target_weights:,}: "
            "each output channel reads width / groups input channels."
        )
    return True, f"✅ Correct: {answer!r}: {width} channels inside, {weights:,} weights in the 3x3 conv."


def register() -> None:
    """Put notebook 06's judges into `EXERCISES`."""
    from resnet_lib.blocks import conv3x3

    EXERCISES["06.1"] = judge_value(
        lambda: conv3x3(1024, 1024, groups=32).weight.numel(),
        "The weight of a grouped conv has the shape (C_out, C_in / groups, k, k).",
        lambda: [
            (
                1024 * 1024 * 9,
                "that is the dense conv: with groups, each output channel reads only C_in / groups inputs",
            ),
            (
                1024 * 1024 * 9 // 32**2,
                "that divides by the groups twice: only the inputs per output channel shrink",
            ),
            (1024 // 32 * 9, "that is one output channel's weights; there are 1,024 output channels"),
        ],
    )
    EXERCISES["06.2"] = _judge_resnext_design
