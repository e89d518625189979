"""ResNet-18 ... 152 (He et al. 2015, Table 1) as torchvision builds them, and the family
of notebook 07. `ResNet` checks nothing, as torchvision's; the builders (`resnet`,
`resnet18` ...) check their arguments, and the model its input, once, at its entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from resnet_lib.blocks import BasicBlock, Bottleneck, conv3x3, init_weights, projection_shortcut
from resnet_lib.tools.validate import check_bool, check_features, check_input, check_int, check_one_of

Block = type[BasicBlock] | type[Bottleneck]

#: depth -> (block type, blocks per stage). Depth = 2 (stem conv + fc) + layers per
#: block (2 or 3) x number of blocks, e.g. ResNet-50 = 2 + 3 * (3 + 4 + 6 + 3).
RESNET_CONFIGS: dict[int, tuple[Block, tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}

STAGE_WIDTHS: tuple[int, int, int, int] = (64, 128, 256, 512)  # of the 3x3 convs, per stage


class PooledClassifier(nn.Module):
    """A network ending in average pooling and one linear layer, ``fc``. ``forward`` is
    ``forward_head(forward_features(x))``, split as timm splits them, so that other code
    (`pretrained.for_transfer`) can use the features and name the last layers."""

    classifier_name: str = "fc"
    last_stage_name: str

    def forward_head(self, x: Tensor) -> Tensor:
        """From the last feature map to the logits: average each channel, then the classifier."""
        check_features(x, self.fc.in_features)
        return self.fc(self.avgpool(x).flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


class ResNet(PooledClassifier):
    """A ResNet for 224x224 inputs (a 7x7 map before pooling); ``layers``: blocks per stage.

    `Bottleneck` options: ``stride_in_1x1`` ("v1"), ``groups`` and ``width_per_group``
    (ResNeXt, Wide ResNet). ``deep_stem``, ``avg_down``: "ResNet-C", "-D" (He et al. 2019).
    """

    last_stage_name: str = "layer4"

    def __init__(
        self,
        block: Block,
        layers: Sequence[int],
        num_classes: int = 1000,
        in_channels: int = 3,
        zero_init_residual: bool = False,
        stride_in_1x1: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        deep_stem: bool = False,
        avg_down: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels, self.avg_down = in_channels, avg_down
        self._bottleneck = dict(stride_in_1x1=stride_in_1x1, groups=groups)
        self._bottleneck["base_width"] = width_per_group  # Bottleneck's name for it
        self._width = 64  # channels flowing between blocks, updated by _make_layer

        # Stem: 224 -> 112 (7x7 conv, stride 2) -> 56 (pool): cheap early downsampling.
        if deep_stem:  # ResNet-C: 224 -> 112 in three 3x3 convs (deeper, and costlier)
            self.conv1 = nn.Sequential(
                conv3x3(in_channels, 32, stride=2),
                nn.BatchNorm2d(32),
                nn.ReLU(inplace=True),
                conv3x3(32, 32),
                nn.BatchNorm2d(32),
                nn.ReLU(inplace=True),
                conv3x3(32, 64),
            )
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        # Four stages: 56 -> 56 -> 28 -> 14 -> 7; each later one also doubles the width.
        self.layer1 = self._make_layer(block, STAGE_WIDTHS[0], layers[0], stride=1)
        self.layer2 = self._make_layer(block, STAGE_WIDTHS[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, STAGE_WIDTHS[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, STAGE_WIDTHS[3], layers[3], stride=2)

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # any size: a number per channel
        self.fc = nn.Linear(STAGE_WIDTHS[3] * block.expansion, num_classes)
        init_weights(self, zero_init_residual)

    def _make_layer(self, block: Block, channels: int, blocks: int, stride: int):
        """One stage: a first block that may resize and widen, then identity blocks."""
        width, out_channels = self._width, channels * block.expansion
        downsample = None
        # A projection only where the identity cannot be added. In ResNet-50/101/152
        # that includes stage 1 (64 -> 256 channels, stride 1); in ResNet-18/34 not.
        if stride != 1 or width != out_channels:
            downsample = projection_shortcut(width, out_channels, stride, self.avg_down)
        # What every Bottleneck gets besides its sizes; a BasicBlock takes no options.
        options = self._bottleneck if issubclass(block, Bottleneck) else {}
        stage = [block(width, channels, stride, downsample, **options)]
        stage += [block(out_channels, channels, **options) for _ in range(1, blocks)]
        self._width = out_channels
        return nn.Sequential(*stage)

    def forward_features(self, x: Tensor) -> Tensor:
        """The stem and the four stages: the last stage's feature map, (batch, channels, h, w)."""
        check_input(x, self.in_channels, self.fc.weight.dtype)  # the one input check
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def resnet(depth: int, **options) -> ResNet:
    """The ResNet of `depth` (18, 34, 50, 101, 152); `options`: `ResNet`'s keyword arguments.

    >>> sum(p.numel() for p in resnet(18).parameters())
    11689512
    """
    check_one_of("depth", depth, RESNET_CONFIGS)  # 18.0 == 18, but is not a depth
    block, layers = RESNET_CONFIGS[depth]
    for name, value in options.items():  # ResNet checks nothing: its builders do
        if name in ("num_classes", "in_channels", "groups", "width_per_group"):
            check_int(name, value)
        elif name in ("zero_init_residual", "stride_in_1x1", "deep_stem", "avg_down"):
            check_bool(name, value)
    defaults = {"stride_in_1x1": False, "groups": 1, "width_per_group": 64}
    changed = [f"{k}={options[k]!r}" for k in defaults if options.get(k, defaults[k]) != defaults[k]]
    if changed and block is not Bottleneck:
        raise ValueError(f"{', '.join(changed)} needs Bottleneck blocks; ResNet-{depth} has BasicBlocks")
    return ResNet(block, layers, **options)


def resnet18(**options) -> ResNet:
    """ResNet-18: BasicBlocks (2, 2, 2, 2). Options as in `resnet`."""
    return resnet(18, **options)


def resnet34(**options) -> ResNet:
    """ResNet-34: BasicBlocks (3, 4, 6, 3). Options as in `resnet`."""
    return resnet(34, **options)


def resnet50(**options) -> ResNet:
    """ResNet-50: Bottlenecks (3, 4, 6, 3). Options as in `resnet`."""
    return resnet(50, **options)


def resnet101(**options) -> ResNet:
    """ResNet-101: Bottlenecks (3, 4, 23, 3). Options as in `resnet`."""
    return resnet(101, **options)


def resnet152(**options) -> ResNet:
    """ResNet-152: Bottlenecks (3, 8, 36, 3). Options as in `resnet`."""
    return resnet(152, **options)


def wide_resnet50_2(**options) -> ResNet:
    """Wide ResNet-50-2 (Zagoruyko & Komodakis 2016): bottlenecks 2x wider inside."""
    return resnet(50, width_per_group=128, **options)


def wide_resnet101_2(**options) -> ResNet:
    """Wide ResNet-101-2: ResNet-101 with bottlenecks 2x wider inside."""
    return resnet(101, width_per_group=128, **options)


def resnext50_32x4d(**options) -> ResNet:
    """ResNeXt-50 32x4d (Xie et al. 2017): 32 groups of 4 channels in the 3x3 conv of stage 1."""
    return resnet(50, groups=32, width_per_group=4, **options)


def resnext101_32x8d(**options) -> ResNet:
    """ResNeXt-101 32x8d: 32 groups of 8 channels."""
    return resnet(101, groups=32, width_per_group=8, **options)


def resnext101_64x4d(**options) -> ResNet:
    """ResNeXt-101 64x4d: 64 groups of 4 channels."""
    return resnet(101, groups=64, width_per_group=4, **options)
