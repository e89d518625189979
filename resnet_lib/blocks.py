"""The residual blocks of ResNet (He et al. 2015, arXiv:1512.03385, Fig. 5).

A block computes ``relu(F(x) + shortcut(x))``: its layers only learn the *change* F(x),
and the identity shortcut gives gradients a path with no weights on it (only the ReLU
after each addition, which the pre-activation block removes). Names follow
torchvision, so its state dicts load unchanged; as there, bad sizes are left to
PyTorch's errors (the builders, `resnet` and `cifar_resnet`, check their arguments).
"""

from __future__ import annotations

from torch import Tensor, nn


def conv3x3(
    in_channels: int,
    out_channels: int,
    stride: int = 1,
    groups: int = 1,
) -> nn.Conv2d:
    """3x3 convolution with padding 1, so that stride 1 keeps the spatial size.

    No bias: the BatchNorm that always follows subtracts the mean, which would cancel
    it, and has a bias (beta) of its own. With ``groups`` (ResNeXt's cardinality) each
    output channel sees ``in_channels / groups`` inputs: weights and work shrink alike.
    """
    return nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size=3,
        stride=stride,
        padding=1,
        groups=groups,
        bias=False,
    )


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution: mixes channels at each pixel, no bias (see `conv3x3`)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


def projection_shortcut(
    in_channels: int, out_channels: int, stride: int, avg_down: bool = False
) -> nn.Sequential:
    """The paper's option B shortcut, where the identity cannot be added (the block
    changes the size or the channels): a strided 1x1 conv + BatchNorm.

    ``avg_down=True`` is "ResNet-D" (He et al. 2019, "Bag of Tricks", arXiv:1812.01187):
    a strided 1x1 conv ignores 3 of every 4 pixels, so average each 2x2 window first.
    """
    if avg_down and stride != 1:
        return nn.Sequential(
            nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False),
            conv1x1(in_channels, out_channels),
            nn.BatchNorm2d(out_channels),
        )
    conv = conv1x1(in_channels, out_channels, stride)
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3x3 convs with a shortcut around them; ``downsample=None`` is the identity."""

    expansion: int = 1  # output channels = channels * expansion

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)  # in place: saves one activation-sized buffer
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        # No clone needed: nothing below writes into x, so it is safe to add it later.
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # Add first, then ReLU: a ReLU before the addition would make the branch
        # non-negative, and the block could only ever add to its input, never reduce it.
        # In place (+=) saves a buffer; BatchNorm's backward needs its input, not `out`.
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand to ``channels * 4``, with a shortcut around them.

    The stride sits in the 3x3 conv, as in torchvision ("v1.5"); ``stride_in_1x1`` puts it
    in the first 1x1, as in the paper ("v1"): cheaper, as it skips 3 of every 4 pixels
    before a 3x3 conv sees them, and slightly less accurate. ``groups`` (of the 3x3) and
    ``base_width`` (channels per group at stage width 64): 1 and 64 give ResNet's block,
    1 and 128 the Wide ResNet's, 32 and 4 ResNeXt-50 32x4d's.
    """

    expansion: int = 4

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        stride_in_1x1: bool = False,
        groups: int = 1,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        width = int(channels * base_width / 64) * groups  # of the 1x1 reduce and 3x3
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = conv1x1(in_channels, width, stride_1x1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride_3x3, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, channels * self.expansion)  # expands, never strides
        self.bn3 = nn.BatchNorm2d(channels * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


class PreActBasicBlock(nn.Module):
    """A BasicBlock with BatchNorm and ReLU moved *before* each conv ("pre-activation").

    He et al. 2016 (arXiv:1603.05027): ``x + conv(relu(bn(conv(relu(bn(x))))))``. Nothing
    follows the addition (in `BasicBlock` a ReLU does), so the shortcut path is a pure
    identity from block to block, forward and backward.
    """

    expansion: int = 1

    def __init__(
        self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)  # normalises the input, so it has in_channels
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels)
        self.relu = nn.ReLU(inplace=True)  # in place on BatchNorm's output, never on x
        self.downsample = downsample  # applied to the block's raw input

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        return out + identity  # no ReLU after the sum: the identity path stays clean


def init_weights(model: nn.Module, zero_init_residual: bool = False) -> None:
    """torchvision's initialisation, in place. He (Kaiming) init in fan-out mode keeps the
    gradients' variance steady through ReLUs in the backward pass (and the activations'
    where a conv keeps its width); BatchNorm starts as the identity; fc keeps PyTorch's
    default. `zero_init_residual` starts each block as the identity (Goyal et al. 2017)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if zero_init_residual:  # a second pass: the first visits each block before its BatchNorms
        for m in model.modules():
            if isinstance(m, (BasicBlock, Bottleneck)):
                nn.init.zeros_((m.bn3 if isinstance(m, Bottleneck) else m.bn2).weight)
