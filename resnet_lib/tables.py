"""Tables of the five ResNets, built from the library's own models (notebook 03).

Nothing here is typed in from the paper: the blocks per stage and the widths come
from `RESNET_CONFIGS` and `STAGE_WIDTHS`, the kernel sizes from the modules of a
built model, the output sizes from a traced forward pass (`trace_layers`), and the
multiply-adds from `count_flops`. So the tables can only disagree with the paper
(He et al. 2015, arXiv:1512.03385, Table 1) if the models do.

- `architecture` / `Architecture`: one depth's layout, as plain data.
- `table1`: the paper's Table 1 for several depths.
- `model_stats` / `ModelStats`, `comparison_table`: parameters, multiply-adds,
  weight and activation memory, receptive field, one row per depth;
  `activation_bytes`: the activations a training forward pass keeps.
- `Table`: a small table that shows itself as HTML in Jupyter and as aligned
  text elsewhere; both renderings are deterministic (the notebooks' tests
  compare them with stored outputs).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ._validation import check_int
from .inspection import (
    count_flops,
    count_parameters,
    in_mode,
    model_receptive_field,
    saved_tensor_bytes,
    trace_layers,
)
from .models import RESNET_CONFIGS, STAGE_WIDTHS, ResNet, resnet

__all__ = [
    "Architecture",
    "ModelStats",
    "Stage",
    "Table",
    "activation_bytes",
    "architecture",
    "comparison_table",
    "model_stats",
    "table1",
]

#: A table cell: one line of text, or several lines (a block's convs, one per line).
Cell = str | tuple[str, ...]


def _lines(cell: Cell) -> tuple[str, ...]:
    return (cell,) if isinstance(cell, str) else tuple(cell)


@dataclass(frozen=True, repr=False)
class Table:
    """Rows of text cells with a header; shown as HTML in Jupyter, as text by `print`.

    Args:
        columns: Column headers.
        rows: One tuple of cells per row; a cell is a string or a tuple of lines.
        align: One letter per column, ``"l"`` or ``"r"``; default: the first column
            left-aligned, the others right-aligned (numbers).
        caption: A line shown above the table.
        widths: Fixed column widths, gaps included, for rows printed one at a time as
            they are measured: each cell is padded to its column's width (never cut),
            with no gap and no rule under the header, so that a row printed alone lines
            up under a header printed before. Default: each column as wide as its widest
            cell, two spaces apart.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    align: str = ""
    caption: str = ""
    widths: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"row {i} has {len(row)} cells, the header {len(self.columns)}")
        if self.align and (len(self.align) != len(self.columns) or set(self.align) - {"l", "r"}):
            raise ValueError(
                f"align must give 'l' or 'r' for each of {len(self.columns)} columns, got {self.align!r}"
            )
        if self.widths and (
            len(self.widths) != len(self.columns)
            or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in self.widths)
        ):
            raise ValueError(
                f"widths must give a positive int for each of {len(self.columns)} columns, got {self.widths!r}"
            )

    def _alignment(self) -> str:
        return self.align or "l" + "r" * (len(self.columns) - 1)

    def to_text(self, header: bool = True) -> str:
        """Aligned plain text: a header, a rule, then the rows (multi-line cells stacked).

        Args:
            header: Start with the caption, the column names and the rule; ``False``
                gives the rows alone (aligned as they would be under the header).
        """
        align = self._alignment()
        table = [tuple((c,) for c in self.columns)] + [tuple(_lines(c) for c in row) for row in self.rows]
        widths = self.widths or [
            max(len(line) for row in table for line in row[j]) for j in range(len(self.columns))
        ]

        def render(row: tuple[tuple[str, ...], ...]) -> list[str]:
            height = max(len(cell) for cell in row)
            out = []
            for k in range(height):
                parts = []
                for j, cell in enumerate(row):
                    text = cell[k] if k < len(cell) else ""
                    parts.append(text.ljust(widths[j]) if align[j] == "l" else text.rjust(widths[j]))
                # Fixed widths already hold the gaps; a row printed alone keeps its full width.
                out.append("".join(parts) if self.widths else "  ".join(parts).rstrip())
            return out

        lines = []
        if header:
            lines += [self.caption] if self.caption else []
            lines += render(table[0])
            if not self.widths:
                lines.append("  ".join("-" * w for w in widths))
        for row in table[1:]:
            lines += render(row)
        return "\n".join(lines)

    def to_html(self) -> str:
        """An HTML table (escaped; multi-line cells joined with ``<br>``)."""
        align = self._alignment()

        def cell(tag: str, value: Cell, j: int) -> str:
            side = "left" if align[j] == "l" else "right"
            text = "<br>".join(html.escape(line) for line in _lines(value))
            return f'<{tag} style="text-align: {side}">{text}</{tag}>'

        out = ["<table>"]
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        out.append("<tr>" + "".join(cell("th", c, j) for j, c in enumerate(self.columns)) + "</tr>")
        for row in self.rows:
            out.append("<tr>" + "".join(cell("td", c, j) for j, c in enumerate(row)) + "</tr>")
        out.append("</table>")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.to_text()

    __str__ = __repr__


# --------------------------------------------------------------------------- layout


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


def _depth_of(model: ResNet) -> int:
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
    elif _depth_of(model) != depth:
        raise ValueError(f"the model given is a ResNet-{_depth_of(model)}, not a ResNet-{depth}")
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


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class ModelStats:
    """What one ResNet costs; see `model_stats`."""

    depth: int
    parameters: int
    macs: int  # multiply-adds of one image
    flops: int  # 2 x macs
    weight_bytes: int  # parameters x bytes per element
    activation_bytes: int  # activations saved for backward by a training-mode forward of `batch_size` images
    batch_size: int
    receptive_field: int  # side of the input square one output unit of layer4 sees
    image_size: int


def activation_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes of activations autograd keeps from one forward pass: weights left out.

    Weights are there whatever the batch size; what is left grows with the batch.
    See `resnet_lib.inspection.saved_tensor_bytes`.
    """
    return saved_tensor_bytes(model, x, include_parameters=False)


def model_stats(model: ResNet, image_size: int = 224, batch_size: int = 1) -> ModelStats:
    """Parameters, multiply-adds, weight and activation memory and receptive field of `model`.

    Everything runs on the device of the model's parameters. The activation memory is
    `activation_bytes` of one training-mode forward pass of a batch of zeros; the
    BatchNorm running statistics it would update are restored afterwards, so the model
    is left exactly as it was (mode included).

    Args:
        model: A ResNet of `RESNET_CONFIGS`.
        image_size: Side of the square input (multiply-adds, activations).
        batch_size: Images in the batch whose activation memory is measured.
    """
    depth = _depth_of(model)
    check_int("batch_size", batch_size)
    device = next(model.parameters()).device
    flops = count_flops(model, (1, model.in_channels, image_size, image_size))

    with in_mode(model, training=True, keep_buffers=True):
        x = torch.zeros(batch_size, model.in_channels, image_size, image_size, device=device)
        activations = activation_bytes(model, x)

    return ModelStats(
        depth=depth,
        parameters=count_parameters(model),
        macs=flops.macs,
        flops=flops.flops,
        weight_bytes=sum(p.numel() * p.element_size() for p in model.parameters()),
        activation_bytes=activations,
        batch_size=batch_size,
        # The receptive field does not depend on the input size: trace a small input.
        receptive_field=model_receptive_field(model, (1, model.in_channels, 64, 64)).size,
        image_size=image_size,
    )


def comparison_table(stats: Sequence[ModelStats]) -> Table:
    """One row per model: parameters, multiply-adds, FLOPs, memory, receptive field.

    Memory is in MB of 10^6 bytes (as torchinfo's summary). All rows must share the
    image size and batch size, which the header states.
    """
    if not stats:
        raise ValueError("need at least one ModelStats")
    image_size, batch_size = stats[0].image_size, stats[0].batch_size
    if any((s.image_size, s.batch_size) != (image_size, batch_size) for s in stats):
        raise ValueError("all rows must share image_size and batch_size")
    res = f"@{image_size}"
    rows = tuple(
        (
            f"ResNet-{s.depth}",
            f"{s.parameters:,}",
            f"{s.macs / 1e9:.3f} G",
            f"{s.flops / 1e9:.3f} G",
            f"{s.weight_bytes / 1e6:.1f}",
            f"{s.activation_bytes / 1e6:.1f}",
            f"{s.receptive_field}",
        )
        for s in stats
    )
    return Table(
        columns=(
            "model",
            "parameters",
            f"multiply-adds {res}",
            f"FLOPs {res}",
            "weights (MB)",
            f"activations (MB, batch {batch_size}, training)",
            "receptive field",
        ),
        rows=rows,
    )
