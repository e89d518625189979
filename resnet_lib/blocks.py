"""The two residual blocks of ResNet (He et al. 2015, "Deep Residual Learning for
Image Recognition", arXiv:1512.03385, Fig. 5).

A residual block computes ``relu(F(x) + shortcut(x))``: the layers only have to learn
the *change* F(x) to their input, and the identity shortcut gives gradients a path
that no layer can shrink.

- ``BasicBlock`` (ResNet-18/34): two 3x3 convs.
- ``Bottleneck`` (ResNet-50/101/152): 1x1 reduce, 3x3, 1x1 expand (x4). The 1x1 convs
  make the 3x3 conv cheap by running it on 4x fewer channels.

Attribute names (conv1, bn1, ..., downsample) follow torchvision, so that
torchvision's state dicts load into these blocks unchanged.
"""

from __future__ import annotations

from torch import Tensor, nn

from resnet_lib.tools.validate import check_bool, check_int


def _check_block_args(in_channels: int, channels: int, stride: int, downsample: object = None) -> None:
    for name, value in (("in_channels", in_channels), ("channels", channels), ("stride", stride)):
        check_int(name, value)
    if downsample is not None and not isinstance(downsample, nn.Module):
        raise TypeError(f"downsample must be None or a shortcut module, got {downsample!r}")


def _check_conv_args(in_channels: int, out_channels: int, stride: int, groups: int = 1) -> None:
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("stride", stride)):
        check_int(name, value)
    check_int("groups", groups)
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
        )


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1, so that stride 1 keeps the spatial size.

    No bias: the BatchNorm that always follows subtracts the mean, which would
    cancel any bias, and has a bias (beta) of its own. ``groups`` splits the channels
    into independent groups (ResNeXt's cardinality): each output channel sees only
    ``in_channels / groups`` inputs, so weights and multiply-adds shrink by ``groups``.
    """
    _check_conv_args(in_channels, out_channels, stride, groups)
    return nn.Conv2d(
        in_channels, out_channels, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False
    )


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution: mixes channels at each pixel, no bias (see `conv3x3`)."""
    _check_conv_args(in_channels, out_channels, stride)
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


def projection_shortcut(
    in_channels: int, out_channels: int, stride: int, avg_down: bool = False
) -> nn.Sequential:
    """The paper's option B shortcut: a strided 1x1 conv + BatchNorm.

    Used only where the identity cannot be added: when the block changes the
    spatial size (stride != 1) or the number of channels.

    ``avg_down=True`` is "ResNet-D" (He et al. 2019, "Bag of Tricks", arXiv:1812.01187):
    a strided 1x1 conv ignores 3 of every 4 input pixels, so average each 2x2 window
    first and let the 1x1 conv run with stride 1 on the averages.
    """
    _check_conv_args(in_channels, out_channels, stride)
    check_bool("avg_down", avg_down)
    if avg_down and stride != 1:
        return nn.Sequential(
            nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False),
            conv1x1(in_channels, out_channels),
            nn.BatchNorm2d(out_channels),
        )
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3x3 convs with a shortcut around them.

    Args:
        in_channels: Channels of the block's input.
        channels: Channels of both convs; the block outputs ``channels * expansion``.
        stride: Stride of the first conv (2 halves the spatial size).
        downsample: Shortcut module for when the identity does not fit (see
            `projection_shortcut`); ``None`` means the identity.
    """

    expansion: int = 1  # output channels = channels * expansion

    def __init__(
        self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        _check_block_args(in_channels, channels, stride, downsample)
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
        # Add first, then ReLU, so the block's output is non-negative like its input.
        # In place (+=) saves a buffer; BatchNorm's backward needs its input, not `out`.
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand, with a shortcut around them.

    Args:
        in_channels: Channels of the block's input.
        channels: Width of the inner 1x1 and 3x3 convs; the block outputs
            ``channels * expansion`` (4x wider).
        stride: Stride of the block (2 halves the spatial size).
        downsample: Shortcut module for when the identity does not fit; ``None``
            means the identity.
        stride_in_1x1: Where the stride sits. ``False`` (default) puts it in the 3x3
            conv, as torchvision does ("ResNet v1.5"); ``True`` puts it in the first
            1x1 conv, as in the paper ("v1"), which skips 3 of every 4 pixels
            before any 3x3 conv has seen them: cheaper, slightly less accurate.
        groups: Groups of the 3x3 conv (ResNeXt's cardinality, Xie et al. 2017).
        base_width: Channels per group, for a stage of width 64. The inner width is
            ``channels * base_width / 64 * groups``: 64 and 1 give the ResNet
            bottleneck, 128 and 1 the Wide ResNet's (2x wider inside, Zagoruyko &
            Komodakis 2016), 4 and 32 ResNeXt-50 32x4d's.
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
        _check_block_args(in_channels, channels, stride, downsample)
        check_bool("stride_in_1x1", stride_in_1x1)
        check_int("groups", groups)
        check_int("base_width", base_width)
        width = int(channels * base_width / 64) * groups  # of the 1x1 reduce and the 3x3
        if width == 0:
            raise ValueError(f"channels * base_width / 64 must be >= 1, got {channels} * {base_width} / 64")
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

    He et al. 2016, "Identity Mappings in Deep Residual Networks" (arXiv:1603.05027):
    ``x + conv(relu(bn(conv(relu(bn(x))))))``. Nothing follows the addition, so the
    shortcut path is a pure identity from block to block, forward and backward: the
    network's output is its first block's input plus a sum of branches. (In the
    original `BasicBlock` the ReLU after the addition sits on that path.)

    Args:
        in_channels: Channels of the block's input.
        channels: Channels of both convs (``expansion`` is 1).
        stride: Stride of the first conv.
        downsample: Shortcut module for when the identity does not fit; ``None``
            means the identity. It is applied to the block's raw input.
    """

    expansion: int = 1

    def __init__(
        self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        _check_block_args(in_channels, channels, stride, downsample)
        self.bn1 = nn.BatchNorm2d(in_channels)  # normalises the input, so it has in_channels
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels)
        self.relu = nn.ReLU(inplace=True)  # in place on BatchNorm's output, never on x
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        return out + identity  # no ReLU after the sum: the identity path stays clean
