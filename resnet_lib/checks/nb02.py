"""Notebook 02's exercises: the parameters of a basic block and of a projection.

A residual block's own ``forward`` (exercise 2) is checked by `check_block`.
"""

from __future__ import annotations

from resnet_lib.checks.core import EXERCISES, judge_value


def register() -> None:
    """Put notebook 02's judges into `EXERCISES` (the block forward is `check_block`'s)."""
    from resnet_lib.blocks import BasicBlock, projection_shortcut
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
        lambda: count_parameters(projection_shortcut(256, 512, stride=2)),
        "A 1x1 conv from 256 to 512 channels, no bias (the stride changes no weight), then BatchNorm.",
        lambda: [
            (256 * 512, f"the BatchNorm is missing: {bn}"),
            (9 * 256 * 512 + 2 * 512, "the projection is a 1x1 conv, not a 3x3"),
            (
                256 * 512 // 4 + 2 * 512,
                "a stride changes where the kernel is applied, not how many weights it has",
            ),
            (256 * 512 + 4 * 512, f"that counts the running statistics too: {bn}"),
        ],
    )
