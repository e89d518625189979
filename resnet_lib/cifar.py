"""The paper's CIFAR-10 networks (He et al. 2015, arXiv:1512.03385, Sec. 4.2).

A 3x3 conv with 16 filters, three stages of ``n`` BasicBlocks on 32x32, 16x16 and 8x8
maps with 16, 32 and 64 channels, global average pooling and a 10-way linear layer:
``6n + 2`` weighted layers (n = 3, 5, 7, 9, 18: ResNet-20, 32, 44, 56, 110). Where a
stage halves the size and doubles the width, the paper's shortcut is **option A**:
every second pixel, the new channels zero (`PadShortcut`, no parameters); option B
is `projection_shortcut`. The "plain" networks of its Fig. 6 drop the shortcuts
(`PlainBlock`); ``preact=True`` builds He et al. 2016's pre-activation variant.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from resnet_lib.blocks import BasicBlock, PreActBasicBlock, conv3x3, init_weights, projection_shortcut
from resnet_lib.models import PooledClassifier
from resnet_lib.tools.validate import check_bool, check_input, check_int, check_one_of, check_shape

CIFAR_DEPTHS: tuple[int, ...] = (20, 32, 44, 56, 110)  # the paper's Table 6
CIFAR_WIDTHS: tuple[int, int, int] = (16, 32, 64)  # channels of the three stages
SHORTCUTS = ("A", "B", None)  # zero padding, projection, none (a plain network)


class PadShortcut(nn.Module):
    """Option A shortcut: subsample by the stride, then pad the new channels with zeros.

    It has no parameters: the first ``in_channels`` output channels are the input's
    (every ``stride``-th pixel), the other ``out_channels - in_channels`` are zero.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        # F.pad goes last dim first: (W left, W right, H top, H bottom, C front, C back)
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


class PlainBlock(BasicBlock):
    """A BasicBlock without its shortcut (and no downsample): the same layers and
    parameters, so a plain network and a ResNet of the same depth differ only in the sums."""

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)))


class CifarResNet(PooledClassifier):
    """The paper's CIFAR-10 network of ``depth = 6n + 2`` layers. ``shortcut``: ``"A"`` (zero
    padding, the paper's), ``"B"`` (projection) or ``None`` (plain); ``preact`` builds it
    from `PreActBasicBlock` (He et al. 2016). `cifar_resnet` checks the arguments."""

    #: With pre-activation, the ``bn_final`` after it belongs to the last stage too.
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
        for s in [stride] + [1] * (blocks - 1):
            if self.shortcut is None:
                stage.append(PlainBlock(self._width, channels, s))
            else:
                block = PreActBasicBlock if self.preact else BasicBlock
                stage.append(block(self._width, channels, s, self._shortcut(channels, s)))
            self._width = channels
        return nn.Sequential(*stage)

    def forward_features(self, x: Tensor) -> Tensor:
        """The stem and the three stages: the last feature map, (batch, widths[2], h / 4, w / 4)."""
        check_input(x, self.in_channels, self.conv1.weight.dtype)  # the one input check
        x = self.conv1(x)
        if self.bn1 is not None:
            x = self.relu(self.bn1(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        if self.bn_final is not None:
            x = self.relu(self.bn_final(x))
        return x


def cifar_resnet(depth: int = 20, shortcut: str | None = "A", **options) -> CifarResNet:
    """The paper's CIFAR-10 ResNet of `depth` = 6n + 2 (``shortcut=None``: its plain twin);
    `options`: `CifarResNet`'s keyword arguments.

    >>> sum(p.numel() for p in cifar_resnet(20).parameters())
    269722
    """
    check_int("depth", depth)  # CifarResNet checks nothing: its builder does
    if (depth - 2) % 6 != 0 or depth < 8:
        raise ValueError(f"depth must be 6n + 2 (e.g. {', '.join(map(str, CIFAR_DEPTHS))}), got {depth}")
    check_one_of("shortcut", shortcut, SHORTCUTS)
    for name, value in options.items():
        if name in ("num_classes", "in_channels"):
            check_int(name, value)
        elif name in ("zero_init_residual", "preact"):
            check_bool(name, value)
    widths = options.get("widths", CIFAR_WIDTHS)
    check_shape("widths", widths, 3, "of the channels of the 3 stages")
    if shortcut == "A" and list(widths) != sorted(widths):
        raise ValueError(f"widths must not shrink with option A (zero padding only adds), got {widths}")
    for name in ("zero_init_residual", "preact"):
        if options.get(name) and shortcut is None:
            raise ValueError(f"{name}=True needs shortcuts ('A' or 'B'), got shortcut=None")
    if options.get("zero_init_residual") and options.get("preact"):
        raise ValueError("zero_init_residual=True needs blocks ending in a BatchNorm; preact's end in a conv")
    return CifarResNet(depth, shortcut, **options)
