"""The layout of a ResNet, read from a built model, and the paper's Table 1 (notebook 04).

Nothing here is typed in from the paper: the blocks per stage and the widths come
from `RESNET_CONFIGS` and `STAGE_WIDTHS`, the kernel sizes from the modules of a
built model, the output sizes from a traced forward pass (`trace_layers`), and the
multiply-adds from `count_flops`. So the table can only disagree with the paper
(He et al. 2015, arXiv:1512.03385, Table 1) if the models do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from resnet_lib.flops import count_flops
from resnet_lib.inspection import trace_layers
from resnet_lib.models import RESNET_CONFIGS, STAGE_WIDTHS, ResNet, resnet
from resnet_lib.tools.tables.table import Cell, Table


@dataclass(frozen=True)
class Stage:
    """One of the four stages of residual blocks.

    ``name`` is the paper's (``conv2_x`` ...), ``module`` the attribute of `ResNet`
    (``layer1`` ...). ``convs`` lists (kernel size, output channels) of the convs of
    one block, in the order they run; ``projection`` says whether the stage's first
    block has a projection shortcut (``downsample``).
    """

    name: str
    module: str
    output_size: int
    blocks: int
    convs: tuple[tuple[int, int], ...]
    projection: bool


@dataclass(frozen=True)
class Architecture:
    """The layout of one ResNet, read from a built model (see `architecture`)."""

    depth: int
    block: str  # "BasicBlock" or "Bottleneck"
    image_size: int
    stem: tuple[int, int, int, int]  # conv1: kernel size, output channels, stride, output size
    pool: tuple[int, int, int]  # maxpool: kernel size, stride, output size
    stages: tuple[Stage, Stage, Stage, Stage]
    classifier_in: int  # width of the vector the fc layer reads
    num_classes: int
    macs: int  # multiply-adds of one image, from count_flops


def depth_of(model: ResNet) -> int:
    """The depth of `RESNET_CONFIGS` whose blocks `model` has (ValueError if none)."""
    block = type(model.layer1[0])
    layers = tuple(len(getattr(model, f"layer{i}")) for i in range(1, 5))
    for depth, (config_block, config_layers) in RESNET_CONFIGS.items():
        if issubclass(block, config_block) and layers == config_layers:
            return depth
    raise ValueError(f"not one of the RESNET_CONFIGS: {block.__name__} blocks {layers}")


def architecture(depth: int, image_size: int = 224, model: ResNet | None = None, **kwargs) -> Architecture:
    """The layout of the ResNet of `depth`: stem, four stages, classifier, multiply-adds.

    The blocks per stage and widths come from `RESNET_CONFIGS` and `STAGE_WIDTHS`,
    and are checked against the model; kernel sizes and channels are read from the
    model's modules; output sizes from a forward pass traced with `trace_layers`;
    multiply-adds from `count_flops` (one image of ``image_size`` x ``image_size``).

    Args:
        depth: 18, 34, 50, 101 or 152.
        image_size: Side of the square input image.
        model: An already built model of that depth (on any device) to read, instead
            of building one with ``resnet(depth, **kwargs)``.
        **kwargs: Passed to `resnet` when no model is given, e.g. ``stride_in_1x1=True``.
    """
    if depth not in RESNET_CONFIGS:
        raise ValueError(f"depth must be one of {sorted(RESNET_CONFIGS)}, got {depth!r}")
    if model is None:
        model = resnet(depth, **kwargs)
    elif kwargs:
        raise TypeError(f"options {sorted(kwargs)} build a model; they cannot change the model given")
    elif depth_of(model) != depth:
        raise ValueError(f"the model given is a ResNet-{depth_of(model)}, not a ResNet-{depth}")
    block, layers = RESNET_CONFIGS[depth]
    input_size = (1, model.in_channels, image_size, image_size)
    calls = trace_layers(model, input_size)
    out_size = {c.name: c.out_size for c in calls}

    stages = []
    for i, (blocks, width) in enumerate(zip(layers, STAGE_WIDTHS)):
        module = f"layer{i + 1}"
        stage = getattr(model, module)
        first = stage[0]
        convs = tuple(
            (m.kernel_size[0], m.out_channels) for m in first.children() if isinstance(m, nn.Conv2d)
        )
        if len(stage) != blocks or convs[0][1] != width:  # e.g. a modified copy of ResNet
            raise ValueError(f"{module} of the model does not match RESNET_CONFIGS[{depth}] and STAGE_WIDTHS")
        last_conv = [c.name for c in calls if c.name.startswith(f"{module}.")][-1]
        stages.append(
            Stage(
                name=f"conv{i + 2}_x",
                module=module,
                output_size=out_size[last_conv],
                blocks=blocks,
                convs=convs,
                projection=first.downsample is not None,
            )
        )
    conv1, maxpool = model.conv1, model.maxpool
    return Architecture(
        depth=depth,
        block=block.__name__,
        image_size=image_size,
        stem=(conv1.kernel_size[0], conv1.out_channels, conv1.stride[0], out_size["conv1"]),
        pool=(maxpool.kernel_size, maxpool.stride, out_size["maxpool"]),
        stages=tuple(stages),
        classifier_in=model.fc.in_features,
        num_classes=model.fc.out_features,
        macs=count_flops(model, input_size).macs,
    )


def _size(n: int) -> str:
    return f"{n}×{n}"


def table1(archs: Sequence[Architecture]) -> Table:
    """The paper's Table 1 for the given architectures (one column per depth).

    All architectures must share the image size (the "output size" column).
    """
    if not archs:
        raise ValueError("need at least one architecture")
    first = archs[0]
    for a in archs:
        if (a.image_size, a.stem, a.pool, [s.output_size for s in a.stages]) != (
            first.image_size,
            first.stem,
            first.pool,
            [s.output_size for s in first.stages],
        ):
            raise ValueError(
                "the architectures differ in image size or stem; one output-size column cannot serve them"
            )
    kernel, channels, stride, stem_out = first.stem
    rows: list[tuple[Cell, ...]] = [
        ("conv1", _size(stem_out)) + (f"{kernel}×{kernel}, {channels}, stride {stride}",) * len(archs)
    ]
    for i, stage in enumerate(first.stages):
        cells = []
        for a in archs:
            s = a.stages[i]
            lines = [f"[{k}×{k}, {c}]" for k, c in s.convs] + [f"× {s.blocks}"]
            if i == 0:
                pk, ps, _ = a.pool
                lines = [f"{pk}×{pk} max pool, stride {ps}"] + lines
            cells.append(tuple(lines))
        rows.append((stage.name, _size(stage.output_size), *cells))
    rows.append(
        ("", "1×1") + tuple(f"average pool, {a.classifier_in}-d → {a.num_classes}-d fc" for a in archs)
    )
    rows.append(("multiply-adds", "") + tuple(f"{a.macs / 1e9:.3f}×10⁹" for a in archs))
    return Table(
        columns=("layer name", "output size", *(f"{a.depth}-layer" for a in archs)),
        rows=tuple(rows),
        align="ll" + "l" * len(archs),
        caption=f"Table 1 (He et al. 2015), rebuilt from resnet_lib for {first.image_size}×{first.image_size} inputs",
    )
