"""Notebook 07's exercises: grouped convolutions and a ResNeXt block by design."""

from __future__ import annotations

from typing import Any

from resnet_lib.checks.core import EXERCISES, as_ints, as_str, judge_value


def _judge_resnext_design(answer: Any) -> tuple[bool, str]:
    """Exercise 07.2: (groups, base_width) of a stage-1 Bottleneck 4x as wide inside as
    ResNet-50's, whose 3x3 conv has as many weights as ResNet-50's dense one."""
    from resnet_lib.blocks import Bottleneck

    if isinstance(answer, list):  # judged as exact types: a list is not the tuple asked for
        return (
            False,
            f"❌ Not yet: the answer is a tuple (groups, base_width), not a list; you gave {answer!r}.",
        )
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


# Exercise 07.3: a ResNeXt-50 32x4d whose 3x3 convs forgot groups=32, and the candidates.
CANDIDATES = {
    "a": "resnet50",
    "b": "wide_resnet50_2",
    "c": "resnext101_32x8d",
    "d": None,  # a network of its own
}


def _shapes(model: Any) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def _ungrouped_resnext() -> dict[str, tuple[int, ...]]:
    """The state's shapes of ResNeXt-50 32x4d with every grouped 3x3 conv made dense."""
    import torch
    from torch import nn

    from resnet_lib import models

    with torch.device("meta"):
        model = models.resnext50_32x4d()
        for module in model.modules():
            if isinstance(getattr(module, "conv2", None), nn.Conv2d):
                old = module.conv2
                module.conv2 = nn.Conv2d(old.in_channels, old.out_channels, 3, old.stride, 1, bias=False)
    return _shapes(model)


def _judge_ungrouped(answer: Any) -> tuple[bool, str]:
    import torch

    from resnet_lib import models

    text = as_str(answer)
    letter = None if text is None else text.strip().lower()
    if letter not in CANDIDATES:
        return False, f"❌ Not yet: answer one of the letters {sorted(CANDIDATES)}; you gave {answer!r}."
    bug = _ungrouped_resnext()
    same = []
    for key, name in CANDIDATES.items():
        if name is not None:
            with torch.device("meta"):
                if _shapes(getattr(models, name)()) == bug:
                    same.append(key)
    right = same[0] if same else "d"
    if letter == right:
        name = CANDIDATES[right] or "a network of its own"
        return True, f"✅ Correct: {right!r}: every weight has the shape of {name}'s."
    why = {
        "a": "ResNet-50's blocks are 64 channels wide inside in stage 1; how wide are 32 groups of 4?",
        "b": "compare the inner width of each stage with Wide ResNet-50-2's, and its groups.",
        "c": "ResNeXt-101 has 23 blocks in stage 3, ResNeXt-50 has 6: the depth did not change.",
        "d": "is there a network in this notebook with the same depth and the same inner widths, "
        "whose 3x3 convs are dense?",
    }[letter]
    return False, f"❌ Not yet: {letter!r}: {why}"


def register() -> None:
    """Put notebook 07's judges into `EXERCISES`."""
    from resnet_lib.blocks import conv3x3

    EXERCISES["07.1"] = judge_value(
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
    EXERCISES["07.2"] = _judge_resnext_design
    EXERCISES["07.3"] = _judge_ungrouped
