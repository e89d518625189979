"""Notebook 02's exercises: the parameters of a block, and of option C's shortcuts.

A residual block's own ``forward`` (exercises 2 and 3) is checked by `check_block`.
"""

from __future__ import annotations

from resnet_lib.checks.core import EXERCISES, judge_value


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


def register() -> None:
    """Put notebook 02's judges into `EXERCISES` (the block forward is `check_block`'s)."""
    from resnet_lib.blocks import BasicBlock
    from resnet_lib.inspection import count_parameters

    bn = "BatchNorm learns 2 parameters per channel (its running mean and variance are buffers, not parameters)"
    # 02.1: the first block of ResNet-34's third stage, 128 -> 256 channels at stride 2.
    conv1, conv2, bns = 9 * 128 * 256, 9 * 256 * 256, 2 * 2 * 256
    EXERCISES["02.1"] = judge_value(
        lambda: count_parameters(BasicBlock(128, 256, stride=2)),
        "conv1 maps the 128 input channels to 256, conv2 256 to 256 (3x3, no bias); "
        "each BatchNorm follows a conv with 256 output channels.",
        lambda: [
            (conv1 + conv2, f"the BatchNorms are missing: {bn}"),
            (conv1 + conv2 + 2 * bns, f"that counts the running statistics too: {bn}"),
            (conv1 + conv2 + 2 * 256 + bns, "that counts a conv bias: the convs have none"),
            (
                2 * conv2 + bns,
                "that gives conv1 256 input channels: it takes the block's 128 (only conv2 is 256 -> 256)",
            ),
            (
                2 * conv1 + bns,
                "that gives conv2 128 input channels: it takes conv1's 256 output channels",
            ),
            (
                conv1 + 2 * 256,
                "that is one conv and one BatchNorm (or a BasicBlock of 128 channels): this block "
                "has two of each, the first 128 -> 256, the second 256 -> 256",
            ),
            (
                conv1 + conv2 + bns + 128 * 256 + 2 * 256,
                "that includes the projection shortcut; the question asks for the convs and BatchNorms",
            ),
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
            (
                _option_c_extra(34) - 64 * 64 - 2 * 64,
                "that leaves stage 1's first block out: it keeps its 64 channels at stride 1, so option B "
                "gives it the identity, and option C a projection",
            ),
        ],
    )
