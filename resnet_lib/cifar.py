"""The paper's CIFAR-10 networks (He et al. 2015, arXiv:1512.03385, Sec. 4.2).

A 3x3 conv with 16 filters, then three stages of ``n`` BasicBlocks on 32x32, 16x16
and 8x8 maps with 16, 32 and 64 channels, global average pooling and a 10-way
linear layer: ``6n + 2`` weighted layers (n = 3, 5, 7, 9, 18 gives ResNet-20, 32,
44, 56, 110).

Where a stage starts, the block halves the size and doubles the width, so its
input cannot be added to its output as it is. The paper's CIFAR nets use
**option A** there: take every second pixel of the input and pad the new channels
with zeros (`PadShortcut`, no parameters). **Option B** uses a strided 1x1 conv +
BatchNorm instead (`resnet_lib.blocks.projection_shortcut`).

The "plain" networks of the paper's Fig. 6 have the same layers without any
shortcut (`PlainBlock`): with them one can see that depth alone makes a network
harder to train, and that shortcuts fix it.

``preact=True`` builds the pre-activation variant of He et al. 2016 (arXiv:1603.05027)
from `PreActBasicBlock`: the stem is the conv alone, and one BatchNorm + ReLU after
the last stage replaces the ReLUs that followed every addition.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from resnet_lib.arithmetic import _check_ints
from resnet_lib.blocks import BasicBlock, PreActBasicBlock, conv3x3, projection_shortcut
from resnet_lib.models import init_weights
from resnet_lib.tools.validate import check_bool, check_features, check_input, check_shape

__all__ = ["CIFAR_DEPTHS", "CifarResNet", "PadShortcut", "PlainBlock", "cifar_resnet"]

#: The depths of the paper's Table 6 (6n + 2 with n = 3, 5, 7, 9, 18).
CIFAR_DEPTHS: tuple[int, ...] = (20, 32, 44, 56, 110)

#: Channels of the three stages.
CIFAR_WIDTHS: tuple[int, int, int] = (16, 32, 64)

SHORTCUTS = ("A", "B", None)


class PadShortcut(nn.Module):
    """Option A shortcut: subsample by the stride, then pad the new channels with zeros.

    It has no parameters: the first ``in_channels`` output channels are the input's
    (every ``stride``-th pixel), the other ``out_channels - in_channels`` are zero.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output (at least ``in_channels``).
        stride: Keep every ``stride``-th row and column.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        _check_ints(in_channels=in_channels, out_channels=out_channels, stride=stride)
        if out_channels < in_channels:
            raise ValueError(
                f"option A can only add channels (zero padding), got {in_channels} -> {out_channels}"
            )
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        # F.pad pads the last dimensions first: (W left, W right, H top, H bottom, C front, C back).
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


class PlainBlock(BasicBlock):
    """A BasicBlock without its shortcut: ``relu(bn2(conv2(relu(bn1(conv1(x))))))``.

    The same layers and parameters as `BasicBlock`, so a plain network and a ResNet
    of the same depth differ only in the additions.
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: None = None) -> None:
        if downsample is not None:
            raise ValueError("a PlainBlock has no shortcut, so it takes no downsample module")
        super().__init__(in_channels, channels, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)))


class CifarResNet(nn.Module):
    """The paper's CIFAR-10 network of ``depth = 6n + 2`` layers.

    Args:
        depth: Weighted layers: 20, 32, 44, 56, 110, or any ``6n + 2``.
        shortcut: ``"A"`` (zero-padding, the paper's CIFAR choice), ``"B"``
            (1x1 projection where the shape changes) or ``None`` (a plain network).
        num_classes: Outputs of the final linear layer.
        in_channels: Channels of the input images.
        widths: Channels of the three stages.
        zero_init_residual: Start the last BatchNorm of every residual block at
            weight 0, so that each block starts as the identity.
        preact: Use pre-activation blocks (`PreActBasicBlock`), as in He et al. 2016.

    ``forward(x)`` is ``forward_head(forward_features(x))``, as in `resnet_lib.models.ResNet`.
    """

    #: As on `ResNet`: the classifier, and the last stage (with pre-activation, the
    #: ``bn_final`` that follows it belongs to it: see `pretrained.for_transfer`).
    classifier_name: str = "fc"
    last_stage_name: str = "layer3"

    def __init__(
        self,
        depth: int = 20,
        shortcut: str | None = "A",
        num_classes: int = 10,
        in_channels: int = 3,
        widths: tuple[int, int, int] = CIFAR_WIDTHS,
        zero_init_residual: bool = False,
        preact: bool = False,
    ) -> None:
        super().__init__()
        _check_ints(depth=depth, num_classes=num_classes, in_channels=in_channels)
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"depth must be 6n + 2 (e.g. {', '.join(map(str, CIFAR_DEPTHS))}), got {depth}")
        if shortcut not in SHORTCUTS:
            raise ValueError(f'shortcut must be "A", "B" or None (plain), got {shortcut!r}')
        check_shape("widths", widths, 3, "of the channels of the 3 stages")
        check_bool("zero_init_residual", zero_init_residual)
        if zero_init_residual and shortcut is None:
            raise ValueError("zero_init_residual needs shortcuts: a plain block at weight 0 outputs zeros")
        if not isinstance(preact, bool):
            raise TypeError(f"preact must be True or False, got {preact!r}")
        if preact and (shortcut is None or zero_init_residual):
            raise ValueError(
                "preact=True needs shortcuts and no zero_init_residual (a pre-activation branch ends "
                f"in a conv, not a BatchNorm), got shortcut={shortcut!r}, zero_init_residual={zero_init_residual!r}"
            )
        self.depth, self.shortcut, self.in_channels, self.preact = depth, shortcut, in_channels, preact
        blocks_per_stage = (depth - 2) // 6

        self.conv1 = conv3x3(in_channels, widths[0])
        # Pre-activation: the first block normalises the stem's output itself, and the
        # last stage's sum gets its BatchNorm + ReLU at the end (`bn_final`).
        self.bn1 = None if preact else nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self._width = widths[0]
        self.layer1 = self._make_layer(widths[0], blocks_per_stage, stride=1)
        self.layer2 = self._make_layer(widths[1], blocks_per_stage, stride=2)
        self.layer3 = self._make_layer(widths[2], blocks_per_stage, stride=2)
        self.bn_final = nn.BatchNorm2d(widths[2]) if preact else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[2], num_classes)

        init_weights(self, zero_init_residual)

    def _shortcut(self, channels: int, stride: int) -> nn.Module | None:
        """None (the identity) where the shapes match, else option A or B."""
        if stride == 1 and channels == self._width:
            return None
        if self.shortcut == "A":
            return PadShortcut(self._width, channels, stride)
        return projection_shortcut(self._width, channels, stride)

    def _make_layer(self, channels: int, blocks: int, stride: int) -> nn.Sequential:
        stage = []
        for i in range(blocks):
            block_stride = stride if i == 0 else 1
            if self.shortcut is None:
                stage.append(PlainBlock(self._width, channels, block_stride))
            else:
                block = PreActBasicBlock if self.preact else BasicBlock
                stage.append(
                    block(self._width, channels, block_stride, self._shortcut(channels, block_stride))
                )
            self._width = channels
        return nn.Sequential(*stage)

    def forward_features(self, x: Tensor) -> Tensor:
        """The stem and the three stages: the last feature map, (batch, widths[2], h / 4, w / 4)."""
        check_input(x, self.in_channels, self.conv1.weight.dtype)
        x = self.conv1(x)
        if self.bn1 is not None:
            x = self.relu(self.bn1(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        if self.bn_final is not None:
            x = self.relu(self.bn_final(x))
        return x

    def forward_head(self, x: Tensor) -> Tensor:
        """From the last feature map to the logits: average each channel, then the classifier."""
        check_features(x, self.fc.in_features)
        return self.fc(self.avgpool(x).flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


def cifar_resnet(depth: int = 20, shortcut: str | None = "A", **kwargs) -> CifarResNet:
    """Build the paper's CIFAR-10 ResNet (or, with ``shortcut=None``, its plain twin).

    Args:
        depth: ``6n + 2`` weighted layers, e.g. 20 or 56.
        shortcut: ``"A"``, ``"B"`` or ``None``; see `CifarResNet`.
        **kwargs: ``num_classes``, ``in_channels``, ``widths``, ``zero_init_residual``,
            ``preact``.

    Example:
        >>> sum(p.numel() for p in cifar_resnet(20).parameters())
        269722
    """
    return CifarResNet(depth, shortcut, **kwargs)
