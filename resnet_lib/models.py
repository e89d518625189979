"""ResNet-18/34/50/101/152 (He et al. 2015, Table 1), built as torchvision builds them.

The network is a stem (7x7/2 conv, 3x3/2 max-pool), four stages of residual blocks
whose first block may halve the size and change the width, global average pooling
and one linear classifier. Only the block type and the number of blocks per stage
change from one depth to the next: that is all `RESNET_CONFIGS` holds.
"""

from __future__ import annotations

from torch import Tensor, nn

from resnet_lib.arithmetic import _check_ints
from resnet_lib.blocks import BasicBlock, Bottleneck, conv3x3, projection_shortcut
from resnet_lib.tools.validate import check_bool, check_features, check_input, check_module

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

#: Width (channels of the 3x3 convs) of the four stages; each stage doubles it.
STAGE_WIDTHS: tuple[int, int, int, int] = (64, 128, 256, 512)


def init_weights(model: nn.Module, zero_init_residual: bool = False) -> None:
    """torchvision's initialisation of a ResNet, in place.

    He (Kaiming) init keeps the activations' variance steady through ReLU layers
    (fan_out, as torchvision does); BatchNorm starts as the identity map; the fc layer
    keeps PyTorch's default init, as torchvision's does.

    Args:
        model: Any network built from `BasicBlock` and `Bottleneck` blocks.
        zero_init_residual: Start the last BatchNorm of every block at weight 0, so
            that each block starts as the identity.
    """
    check_module("model", model)
    check_bool("zero_init_residual", zero_init_residual)
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


class ResNet(nn.Module):
    """A ResNet for ImageNet-sized inputs (224x224 gives a 7x7 map before pooling).

    Args:
        block: `BasicBlock` or `Bottleneck`.
        layers: Number of blocks in each of the four stages, e.g. ``(3, 4, 6, 3)``.
        num_classes: Outputs of the final linear layer.
        in_channels: Channels of the input images (3 for RGB).
        zero_init_residual: Start the last BatchNorm of every block at weight 0, so
            that each block starts as the identity (Goyal et al. 2017); this helps
            large-batch training a little.
        stride_in_1x1: For `Bottleneck` only: put each stage's stride in the first
            1x1 conv (the paper's "v1") instead of the 3x3 conv (torchvision's "v1.5").
        groups, width_per_group: For `Bottleneck` only: the 3x3 conv's groups and the
            channels per group at stage width 64 (see `Bottleneck`): ResNeXt and Wide ResNet.
        deep_stem: "ResNet-C" (He et al. 2019, arXiv:1812.01187): three 3x3 convs
            (32, 32, 64 channels, the first with stride 2) instead of the 7x7 conv.
        avg_down: "ResNet-D" (same paper): shortcuts that average-pool before a stride-1
            1x1 conv instead of a strided 1x1 conv (`projection_shortcut`).

    ``forward(x)`` is ``forward_head(forward_features(x))``: the feature map of the last
    stage, then pooling and the classifier, split as timm splits them, so that other code
    can use the features without knowing the layers' names.
    """

    #: The names of the classifier and of the last stage, the same attributes as on
    #: `CifarResNet`, for code that works on either (e.g. `pretrained.for_transfer`).
    classifier_name: str = "fc"
    last_stage_name: str = "layer4"

    def __init__(
        self,
        block: Block,
        layers: tuple[int, ...] | list[int],
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
        if not (isinstance(block, type) and issubclass(block, (BasicBlock, Bottleneck))):
            got = block.__name__ if isinstance(block, type) else f"a {type(block).__name__} instance"
            raise TypeError(f"block must be BasicBlock or Bottleneck (the class), got {got}")
        if not isinstance(layers, (tuple, list)):
            raise TypeError(
                f"layers must be a tuple of the blocks of 4 stages, e.g. (2, 2, 2, 2), got {layers!r}"
            )
        if len(layers) != 4:
            raise ValueError(f"layers must give the blocks of 4 stages, got {layers!r}")
        _check_ints(**{f"layers[{i}]": n for i, n in enumerate(layers)})
        _check_ints(num_classes=num_classes, in_channels=in_channels)
        check_bool("stride_in_1x1", stride_in_1x1)
        check_bool("zero_init_residual", zero_init_residual)
        if stride_in_1x1 and not issubclass(block, Bottleneck):
            raise ValueError("stride_in_1x1=True needs Bottleneck blocks; BasicBlock has no 1x1 conv")
        _check_ints(groups=groups, width_per_group=width_per_group)
        if (groups, width_per_group) != (1, 64) and not issubclass(block, Bottleneck):
            raise ValueError(
                f"groups and width_per_group need Bottleneck blocks, got groups={groups}, "
                f"width_per_group={width_per_group} with BasicBlock"
            )
        for name, value in (("deep_stem", deep_stem), ("avg_down", avg_down)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, got {value!r}")

        self.in_channels = in_channels
        self.stride_in_1x1 = stride_in_1x1
        self.avg_down = avg_down
        # What every Bottleneck of the network gets besides its sizes (BasicBlock: nothing).
        self._block_options = {}
        if issubclass(block, Bottleneck):
            self._block_options = dict(stride_in_1x1=stride_in_1x1, groups=groups, base_width=width_per_group)
        self._width = 64  # channels flowing between blocks, updated by _make_layer

        # Stem: 224 -> 112 (conv) -> 56 (pool). Cheap early downsampling.
        if deep_stem:  # ResNet-C: the same 224 -> 112 in three cheaper 3x3 convs
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
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        # Four stages: 56 -> 56 -> 28 -> 14 -> 7. Stage 1 keeps the size (the pool
        # already halved it); each later stage halves it and doubles the width.
        self.layer1 = self._make_layer(block, STAGE_WIDTHS[0], layers[0], stride=1)
        self.layer2 = self._make_layer(block, STAGE_WIDTHS[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, STAGE_WIDTHS[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, STAGE_WIDTHS[3], layers[3], stride=2)

        # Any input size works: average each channel to one number.
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(STAGE_WIDTHS[3] * block.expansion, num_classes)

        init_weights(self, zero_init_residual)

    def _make_layer(self, block: Block, channels: int, blocks: int, stride: int) -> nn.Sequential:
        """One stage: a first block that may change size and width, then identity blocks."""
        out_channels = channels * block.expansion
        downsample = None
        # A projection only where the identity cannot be added. In ResNet-50/101/152
        # this includes stage 1 (64 -> 256 channels at stride 1); in ResNet-18/34 it does not.
        if stride != 1 or self._width != out_channels:
            downsample = projection_shortcut(self._width, out_channels, stride, self.avg_down)
        options = self._block_options
        stage = [block(self._width, channels, stride, downsample, **options)]
        stage += [block(out_channels, channels, **options) for _ in range(1, blocks)]
        self._width = out_channels
        return nn.Sequential(*stage)

    def forward_features(self, x: Tensor) -> Tensor:
        """The stem and the four stages: the last stage's feature map, (batch, channels, h, w)."""
        check_input(x, self.in_channels, self.fc.weight.dtype)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward_head(self, x: Tensor) -> Tensor:
        """From the last feature map to the logits: average each channel, then the classifier."""
        check_features(x, self.fc.in_features)
        return self.fc(self.avgpool(x).flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


def resnet(
    depth: int,
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    zero_init_residual: bool = False,
    stride_in_1x1: bool = False,
) -> ResNet:
    """Build the ResNet of the given depth (18, 34, 50, 101 or 152).

    Args:
        depth: Number of weighted layers, one of `RESNET_CONFIGS`.
        num_classes: Outputs of the classifier.
        in_channels: Channels of the input images.
        zero_init_residual: See `ResNet`.
        stride_in_1x1: See `ResNet` (Bottleneck depths only).

    Returns:
        The model, randomly initialised as torchvision initialises it.

    Example:
        >>> sum(p.numel() for p in resnet(18).parameters())
        11689512
    """
    if type(depth) is not int or depth not in RESNET_CONFIGS:  # 18.0 == 18, but is not a depth
        raise ValueError(f"depth must be one of {sorted(RESNET_CONFIGS)}, got {depth!r}")
    block, layers = RESNET_CONFIGS[depth]
    return ResNet(
        block,
        layers,
        num_classes=num_classes,
        in_channels=in_channels,
        zero_init_residual=zero_init_residual,
        stride_in_1x1=stride_in_1x1,
    )


def resnet18(**kwargs) -> ResNet:
    """ResNet-18: BasicBlocks (2, 2, 2, 2). Keyword arguments as in `resnet`."""
    return resnet(18, **kwargs)


def resnet34(**kwargs) -> ResNet:
    """ResNet-34: BasicBlocks (3, 4, 6, 3). Keyword arguments as in `resnet`."""
    return resnet(34, **kwargs)


def resnet50(**kwargs) -> ResNet:
    """ResNet-50: Bottlenecks (3, 4, 6, 3). Keyword arguments as in `resnet`."""
    return resnet(50, **kwargs)


def resnet101(**kwargs) -> ResNet:
    """ResNet-101: Bottlenecks (3, 4, 23, 3). Keyword arguments as in `resnet`."""
    return resnet(101, **kwargs)


def resnet152(**kwargs) -> ResNet:
    """ResNet-152: Bottlenecks (3, 8, 36, 3). Keyword arguments as in `resnet`."""
    return resnet(152, **kwargs)


# ---------------------------------------------------------------- after 2015 (notebook 06)


def wide_resnet50_2(**kwargs) -> ResNet:
    """Wide ResNet-50-2 (Zagoruyko & Komodakis 2016): ResNet-50 with bottlenecks 2x wider inside."""
    return ResNet(Bottleneck, RESNET_CONFIGS[50][1], width_per_group=128, **kwargs)


def wide_resnet101_2(**kwargs) -> ResNet:
    """Wide ResNet-101-2: ResNet-101 with bottlenecks 2x wider inside."""
    return ResNet(Bottleneck, RESNET_CONFIGS[101][1], width_per_group=128, **kwargs)


def resnext50_32x4d(**kwargs) -> ResNet:
    """ResNeXt-50 32x4d (Xie et al. 2017): 32 groups of 4 channels in the 3x3 conv of stage 1."""
    return ResNet(Bottleneck, RESNET_CONFIGS[50][1], groups=32, width_per_group=4, **kwargs)


def resnext101_32x8d(**kwargs) -> ResNet:
    """ResNeXt-101 32x8d: 32 groups of 8 channels."""
    return ResNet(Bottleneck, RESNET_CONFIGS[101][1], groups=32, width_per_group=8, **kwargs)


def resnext101_64x4d(**kwargs) -> ResNet:
    """ResNeXt-101 64x4d: 64 groups of 4 channels."""
    return ResNet(Bottleneck, RESNET_CONFIGS[101][1], groups=64, width_per_group=4, **kwargs)
