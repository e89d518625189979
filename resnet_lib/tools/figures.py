"""The series' figures, and `figure_problems`, the check that they read well.

Notebook 01's figures show a kernel sliding over an input, drawn cell by cell;
notebook 06 draws a training run's curves, notebook 07 accuracy against cost.
Every figure of notebook 01 is computed, never hand-placed: the number of windows
comes from `resnet_lib.arithmetic` (so a figure can never disagree with the formula), and
the cells each window reads follow from the window's start and its taps.

Positions are counted in *padded* coordinates: position 0 is the first padding
cell on the left, position ``padding`` is the first real input cell.

Colours (the same in every figure, and in the legend):

- light blue: an input cell that some window reads;
- grey: a padding cell (zeros for a convolution, minus infinity for max pooling);
- orange: an input cell that *no* window reads (dropped by the floor, or
  skipped by a stride larger than the kernel);
- dark blue: the cells one window reads (its taps);
- green: output cells;
- white: cells a dilated kernel steps over, between two taps;
- dashed white: past the end of the padded input (only `ceil_mode` reaches there).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.collections import PatchCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from resnet_lib.arithmetic import conv_output_size, pool_output_size
from resnet_lib.tools.validate import check_int

__all__ = [
    "cell_roles",
    "conv_windows",
    "draw_accuracy_vs_cost",
    "draw_conv_1d",
    "draw_conv_2d",
    "draw_pool_1d",
    "draw_training_history",
    "figure_problems",
    "pool_windows",
    "running_mean",
]

COLORS: dict[str, str] = {
    "input": "#d6e6f5",
    "padding": "#d9d9d9",
    "unused": "#f6a04d",
    "tap": "#1f5fa8",
    "output": "#93c47d",
    "gap": "#ffffff",
    "outside": "#ffffff",
}
LEGEND: dict[str, str] = {
    "input": "input cell",
    "padding": "padding",
    "unused": "input cell no window reads",
    "tap": "cells one window reads",
    "output": "output cell",
    "gap": "skipped between dilated taps",
    "outside": "past the padded input",
}
#: One panel of `draw_conv_2d` per output cell: more than this many is unreadable.
MAX_PANELS_2D = 64


def _windows(out_size: int, kernel_size: int, stride: int, dilation: int) -> list[list[int]]:
    # Window o starts at o * stride; its taps are dilation apart.
    return [[o * stride + t * dilation for t in range(kernel_size)] for o in range(out_size)]


def conv_windows(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> list[list[int]]:
    """The padded positions each window of a convolution reads, one list per output cell.

    Args:
        size: Input size along one dimension.
        kernel_size: Number of kernel taps.
        stride: Step between windows.
        padding: Zeros on each side.
        dilation: Spacing between taps.

    Returns:
        ``windows[o]`` lists the ``kernel_size`` padded positions read for output ``o``.

    Raises:
        TypeError, ValueError: As `conv_output_size`, which counts the windows.
    """
    out_size = conv_output_size(size, kernel_size, stride, padding, dilation)
    return _windows(out_size, kernel_size, stride, dilation)


def pool_windows(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> list[list[int]]:
    """The padded positions each window of a max-pooling layer reads.

    Args:
        size: Input size along one dimension.
        kernel_size: Window size.
        stride: Step between windows; ``None`` means ``kernel_size``, as in PyTorch.
        padding: Padding on each side.
        dilation: Spacing between taps.
        ceil_mode: Keep a last, partial window (see `pool_output_size`).

    Returns:
        ``windows[o]`` lists the padded positions read for output ``o``; with
        ``ceil_mode`` the last window may reach past the padded input.

    Raises:
        TypeError, ValueError: As `pool_output_size`, which counts the windows.
    """
    out_size = pool_output_size(size, kernel_size, stride, padding, dilation, ceil_mode)
    return _windows(out_size, kernel_size, kernel_size if stride is None else stride, dilation)


def cell_roles(size: int, padding: int, windows: list[list[int]]) -> list[str]:
    """What each padded position is: "padding", "input" (read), "unused" or "outside".

    Args:
        size: Input size along one dimension.
        padding: Padding on each side.
        windows: The windows, from `conv_windows` or `pool_windows`.

    Returns:
        One role per position, from 0 to the end of the padded input or of the
        last window, whichever is further.
    """
    check_int("size", size)
    check_int("padding", padding, minimum=0)
    if not (isinstance(windows, list) and windows and all(isinstance(w, list) and w for w in windows)):
        raise ValueError(f"windows must be a non-empty list of windows from conv_windows, got {windows!r}")
    padded = size + 2 * padding
    read = {p for window in windows for p in window}
    length = max(padded, max(read) + 1)
    roles = []
    for p in range(length):
        if p >= padded:
            roles.append("outside")
        elif p < padding or p >= padding + size:
            roles.append("padding")
        else:
            roles.append("input" if p in read else "unused")
    return roles


def _draw_cells(ax: plt.Axes, cells: list[tuple[float, float, str]]) -> None:
    """Draw unit squares, each ``(x, y, role)``, coloured by role, in one collection (fast)."""
    patches = [Rectangle((x, y), 1, 1) for x, y, _ in cells]
    collection = PatchCollection(
        patches,
        facecolors=[COLORS[role] for _, _, role in cells],
        edgecolors="#555555",
        linewidths=0.8,
        linestyles=["--" if role == "outside" else "-" for _, _, role in cells],
    )
    ax.add_collection(collection)


def _add_legend(fig: Figure, roles: set[str]) -> None:
    # Only the roles this figure shows, in a fixed order so the figure is deterministic.
    handles = [Patch(facecolor=COLORS[r], edgecolor="#555555", label=LEGEND[r]) for r in COLORS if r in roles]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, fontsize=9)


def _window_cell(p: int, window: list[int], roles: list[str]) -> str:
    """Role of position p in a window's row: a tap, a gap between taps, or past the end."""
    if roles[p] == "outside":
        return "outside"  # a ceil_mode window reaching past the padded input reads nothing there
    return "tap" if p in window else "gap"


def _draw_1d(size: int, padding: int, windows: list[list[int]], pad_label: str, title: str) -> Figure:
    """Input strip on top, one row per window below it, the output strip at the bottom."""
    roles = cell_roles(size, padding, windows)
    n_rows = len(windows) + 2  # input, the windows, output
    # At least 5.5 inches wide, so that the title and the legend fit.
    fig, ax = plt.subplots(figsize=(max(5.5, 1.6 + 0.42 * len(roles)), 1.5 + 0.42 * n_rows))
    y_input, y_output = n_rows - 1, 0

    cells = [(p, y_input, role) for p, role in enumerate(roles)]
    for o, window in enumerate(windows):
        y = y_input - 1 - o
        # An empty outline of the span the window covers, with its taps filled in.
        span = range(window[0], window[-1] + 1)
        cells += [(p, y, _window_cell(p, window, roles)) for p in span]
        ax.text(-0.4, y + 0.5, f"window {o}", ha="right", va="center", fontsize=9)
    cells += [(o, y_output, "output") for o in range(len(windows))]
    _draw_cells(ax, cells)

    def label(p: int) -> str:
        # "x3" is input cell 3; padding shows its value, so it is not mistaken for a cell index.
        return pad_label if roles[p] == "padding" else "" if roles[p] == "outside" else f"x{p - padding}"

    for p in range(len(roles)):
        ax.text(p + 0.5, y_input + 0.5, label(p), ha="center", va="center", fontsize=8)
    for o, window in enumerate(windows):
        # Repeat each tap's input label, in white on the dark tap, so a row reads "x2 x3 x4".
        for p in window:
            ax.text(p + 0.5, y_input - o - 0.5, label(p), ha="center", va="center", fontsize=8, color="white")
    for o in range(len(windows)):
        ax.text(o + 0.5, y_output + 0.5, f"y{o}", ha="center", va="center", fontsize=8)
    ax.text(-0.4, y_input + 0.5, "input", ha="right", va="center", fontsize=9, weight="bold")
    ax.text(-0.4, y_output + 0.5, "output", ha="right", va="center", fontsize=9, weight="bold")

    ax.set_xlim(-2.6, len(roles) + 0.2)
    ax.set_ylim(-0.2, n_rows + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    _add_legend(fig, {role for _, _, role in cells})
    height = fig.get_figheight()
    fig.subplots_adjust(bottom=0.85 / height, top=1 - 0.5 / height, left=0.02, right=0.98)
    return fig


def _settings(kernel_size: int, stride: int, padding: int, dilation: int) -> str:
    return f"kernel {kernel_size}, stride {stride}, padding {padding}, dilation {dilation}"


def draw_conv_1d(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> Figure:
    """Draw a convolution along one dimension: every window, and the cells it reads.

    Args:
        size: Input size.
        kernel_size: Number of kernel taps.
        stride: Step between windows.
        padding: Zeros on each side.
        dilation: Spacing between taps.

    Returns:
        The figure (shown by ``plt.show()`` in a notebook).

    Raises:
        TypeError, ValueError: As `conv_output_size`.
    """
    windows = conv_windows(size, kernel_size, stride, padding, dilation)
    title = f"Conv: input {size}, {_settings(kernel_size, stride, padding, dilation)}\noutput {len(windows)}"
    return _draw_1d(size, padding, windows, pad_label="0", title=title)


def draw_pool_1d(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> Figure:
    """Draw max pooling along one dimension; padding is shown as minus infinity.

    Args:
        size: Input size.
        kernel_size: Window size.
        stride: Step between windows; ``None`` means ``kernel_size``.
        padding: Padding on each side.
        dilation: Spacing between taps.
        ceil_mode: Keep a last, partial window (drawn reaching past the padded input).

    Returns:
        The figure.

    Raises:
        TypeError, ValueError: As `pool_output_size`.
    """
    windows = pool_windows(size, kernel_size, stride, padding, dilation, ceil_mode)
    stride = kernel_size if stride is None else stride
    title = (
        f"MaxPool: input {size}, {_settings(kernel_size, stride, padding, dilation)}\n"
        f"ceil_mode={ceil_mode}, output {len(windows)}"
    )
    # Max pooling pads with -inf, so that padding can never win the max.
    return _draw_1d(size, padding, windows, pad_label="-∞", title=title)


def _role_2d(row_role: str, col_role: str) -> str:
    """Role of a pixel from the roles of its row and column (the two dimensions are independent)."""
    for role in ("padding", "unused"):  # padding if either is padding; unread if either is unread
        if role in (row_role, col_role):
            return role
    return "input"


def draw_conv_2d(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> Figure:
    """Draw a square convolution: one panel per output cell, showing the cells it reads.

    The panels are laid out like the output grid, so panel (r, c) computes output
    cell (r, c). Square inputs and kernels keep the figure small; each dimension
    behaves exactly like `draw_conv_1d`.

    Args:
        size: Input height and width.
        kernel_size: Kernel height and width.
        stride: Step between windows.
        padding: Zeros on each side.
        dilation: Spacing between taps.

    Returns:
        The figure.

    Raises:
        TypeError, ValueError: As `conv_output_size`; ValueError also if the
            output has more than `MAX_PANELS_2D` cells (use `draw_conv_1d`).
    """
    windows = conv_windows(size, kernel_size, stride, padding, dilation)
    out = len(windows)
    if out * out > MAX_PANELS_2D:
        raise ValueError(
            f"draw_conv_2d draws one panel per output cell, and a {out}x{out} output needs "
            f"{out * out} (at most {MAX_PANELS_2D}); draw_conv_1d draws any size"
        )
    roles = cell_roles(size, padding, windows)
    n = len(roles)
    panel = 0.2 * n + 0.35  # inches per panel
    # At least 5.5 inches wide, so that the title and the legend fit.
    width, height = max(5.5, panel * out + 0.4), panel * out + 1.5
    fig, axes = plt.subplots(out, out, figsize=(width, height), squeeze=False)
    for r, row_window in enumerate(windows):
        for c, col_window in enumerate(windows):
            ax = axes[r][c]
            taps = {(y, x) for y in row_window for x in col_window}
            # Image convention: row 0 at the top, so y is flipped.
            cells = [
                (x, n - 1 - y, "tap" if (y, x) in taps else _role_2d(roles[y], roles[x]))
                for y in range(n)
                for x in range(n)
            ]
            _draw_cells(ax, cells)
            ax.set_xlim(0, n)
            ax.set_ylim(0, n)
            ax.set_aspect("equal")
            ax.axis("off")
            ax.set_title(f"output [{r}, {c}]", fontsize=8)
    fig.suptitle(
        f"Conv: input {size}x{size}, {_settings(kernel_size, stride, padding, dilation)}\n"
        f"output {out}x{out}, one panel per output cell",
        fontsize=10,
    )
    _add_legend(fig, set(roles) | {"tap"})
    fig.subplots_adjust(bottom=0.8 / height, top=1 - 0.65 / height)
    return fig


# --- Does a figure read well where it is read? ---------------------------------------------

#: A notebook's column is about 900 px wide (GitHub), 1,000 px or more in JupyterLab:
#: a wider figure is scaled down, and its text with it.
MAX_WIDTH_PX = 1000
#: 8 pt at 100 dpi is 11 px; scaled down to a 900 px column, still at least 9 px.
MIN_FONT_PT = 8.0


def _texts(artist: plt.Axes | Figure) -> list[Text]:
    """The visible, non-empty texts an axes (or a figure, outside its axes) shows."""
    texts = [c for c in artist.get_children() if isinstance(c, Text)]
    if isinstance(artist, plt.Axes) and artist.axison:  # ax.axis("off") hides labels and ticks
        for axis in (artist.xaxis, artist.yaxis):
            if axis.get_visible():
                texts += [axis.label, *_tick_labels(axis)]
    legends = [artist.get_legend()] if isinstance(artist, plt.Axes) else list(artist.legends)
    for legend in filter(None, legends):
        texts += [legend.get_title(), *legend.get_texts()]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def _tick_labels(axis) -> list[Text]:
    """The tick labels drawn: of the ticks inside the view (matplotlib keeps others around)."""
    low, high = sorted(axis.get_view_interval())
    ticks = axis.get_major_ticks() + axis.get_minor_ticks()
    # In the axis' own scale, a tick at `high` may be a rounding error past it.
    inside = [t for t in ticks if low - 1e-9 * abs(low) <= t.get_loc() <= high + 1e-9 * abs(high)]
    return [label for t in inside for label in (t.label1, t.label2)]


def _marks(ax: plt.Axes, renderer) -> tuple[list[Bbox], list]:
    """Where an axes' markers are (one box each, in pixels), and its lines (paths in pixels)."""
    from matplotlib.path import Path

    boxes, paths = [], []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(line.get_xydata())
        if line.get_linestyle() not in ("None", "", " ") and len(xy) > 1:
            paths.append(Path(xy))
        if line.get_marker() not in ("None", "", " ", None):
            r = line.get_markersize() * ax.figure.dpi / 72 / 2
            boxes += [Bbox([[x - r, y - r], [x + r, y + r]]) for x, y in xy]
    for collection in ax.collections:
        if isinstance(collection, PathCollection) and collection.get_visible():  # scatter
            xy = collection.get_offset_transform().transform(collection.get_offsets())
            sizes = collection.get_sizes()
            for i, (x, y) in enumerate(xy):
                r = (sizes[i % len(sizes)] ** 0.5) * ax.figure.dpi / 72 / 2 if len(sizes) else 3
                boxes.append(Bbox([[x - r, y - r], [x + r, y + r]]))
    return boxes, paths


def _name(text: Text) -> str:
    return repr(text.get_text().replace("\n", " ")[:40])


def _core(box: Bbox, px: float = 1.5) -> Bbox:
    """`box` less `px` pixels on every side: boxes that only touch do not overlap."""
    return Bbox([[box.x0 + px, box.y0 + px], [box.x1 - px, box.y1 - px]])


def _inside(box: Bbox, frame: Bbox, slack: float = 1.0) -> bool:
    return (
        box.x0 >= frame.x0 - slack
        and box.x1 <= frame.x1 + slack
        and box.y0 >= frame.y0 - slack
        and box.y1 <= frame.y1 + slack
    )


def _overlaps(texts: list[Text], others: list[Text], renderer) -> list[str]:
    """Each pair of `texts` (or of a text and one of `others`) drawn on each other."""
    boxes = {t: _core(t.get_window_extent(renderer)) for t in texts + others}
    pairs = [(a, b) for i, a in enumerate(texts) for b in texts[i + 1 :] + others]
    return [f"texts {_name(a)} and {_name(b)} overlap" for a, b in pairs if boxes[a].overlaps(boxes[b])]


def _placed_problems(ax: plt.Axes, renderer) -> list[str]:
    """Texts placed in the plot, and the legend: on a marker, across a line, out of the frame."""
    markers, lines = _marks(ax, renderer)
    frame = ax.get_window_extent(renderer)
    placed = [(f"text {_name(t)}", t) for t in ax.texts if t.get_visible() and t.get_text().strip()]
    if ax.get_legend() is not None:
        placed.append(("the legend", ax.get_legend()))
    problems = []
    for label, artist in placed:
        box = artist.get_window_extent(renderer)
        if any(_core(box).overlaps(m) for m in markers):
            problems.append(f"{label} covers a marker")
        elif any(path.intersects_bbox(_core(box), filled=False) for path in lines):
            problems.append(f"{label} crosses a line")
        if artist is not ax.get_legend() and not _inside(box, frame):
            problems.append(f"{label} reaches out of the axes frame")
    return problems


def figure_problems(
    fig: Figure, dpi: float | None = None, max_width_px: int = MAX_WIDTH_PX, min_font_pt: float = MIN_FONT_PT
) -> list[str]:
    """What makes `fig` hard to read at its stored size; an empty list when nothing does.

    It draws the figure and measures, in pixels at `dpi` (the figure's own when None):
    the width (as a notebook stores it, cropped to what is drawn); every text's size;
    two texts of one axes (or of the figure) overlapping; a text placed in a plot
    (`ax.text`, `ax.annotate`) or a legend on a line or a marker, or reaching out of
    the axes frame; tick labels that are not plain numbers ("2x10^1"). A notebook
    cell can end with ``assert not figure_problems(fig)``.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    dpi = fig.dpi if dpi is None else dpi
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    width = (fig.get_tightbbox(renderer).width + 0.2) * dpi  # bbox_inches="tight", 0.1 inch padding
    if width > max_width_px * 1.02:
        problems.append(f"the figure is {width:.0f} px wide at {dpi:g} dpi (at most {max_width_px})")
    axes_texts = {ax: _texts(ax) for ax in fig.axes}
    figure_texts = _texts(fig)  # a suptitle, a figure legend
    every = [t for texts in axes_texts.values() for t in texts]
    for t in every + figure_texts:
        if t.get_fontsize() < min_font_pt:
            problems.append(f"text {_name(t)} is {t.get_fontsize():g} pt (at least {min_font_pt:g})")
    for ax, texts in axes_texts.items():
        # A log axis' default labels, "2x10^1": a reader wants 20.
        odd = [t for t in texts if "times10" in t.get_text()]
        if odd:
            problems.append(f"tick label {_name(odd[0])} is not a plain number")
        # The entries of one legend are laid out by matplotlib: they never collide.
        legend = ax.get_legend()
        entries = set(legend.get_texts()) | {legend.get_title()} if legend else set()
        plain = [t for t in texts if t not in entries]
        problems += _overlaps(plain, [t for t in texts if t in entries], renderer)
        problems += _placed_problems(ax, renderer)
    problems += _overlaps(figure_texts, every, renderer)
    return problems


# --- Notebook 07: accuracy against cost, every ResNet weight set of torchvision ---------------

#: The three families of notebook 07, by the start of torchvision's builder name.
FAMILIES: dict[str, tuple[str, str]] = {
    "resnet": ("ResNet", "#c0392b"),
    "wide": ("Wide ResNet", "#2874a6"),
    "resnext": ("ResNeXt", "#1e8449"),
}
#: The marker and legend entry of each kind of training recipe, as the weights' `_docs` name it:
#: "a simple training recipe" (each network's own, not one recipe) or torchvision's new one.
RECIPES: dict[str, tuple[str, str]] = {
    "simple": ("o", "simple recipes"),
    "new": ("s", "torchvision's new recipe and its variants"),
}
# Where a network's name may go, tried in this order: (which point, offset in points, alignment).
_LABEL_SPOTS = [
    ("top", (6, 0), "left", "center"),
    ("top", (-6, 0), "right", "center"),
    ("bottom", (6, 0), "left", "center"),
    ("bottom", (-6, 0), "right", "center"),
    ("top", (0, 6), "center", "bottom"),
    ("bottom", (0, -6), "center", "top"),
    ("top", (6, 8), "left", "bottom"),
    ("top", (-6, 8), "right", "bottom"),
    ("bottom", (6, -8), "left", "top"),
    ("bottom", (-6, -8), "right", "top"),
]


def _place_label(ax: plt.Axes, name: str, points: list[tuple[float, float]], taken: list[Bbox]) -> None:
    """Write `name` beside its network's points, at the first spot that covers nothing."""
    renderer = ax.figure.canvas.get_renderer()
    markers, lines = _marks(ax, renderer)
    frame = ax.get_window_extent(renderer)
    ends = {"top": max(points, key=lambda p: p[1]), "bottom": min(points, key=lambda p: p[1])}
    for end, offset, ha, va in _LABEL_SPOTS:
        label = ax.annotate(
            name, ends[end], xytext=offset, textcoords="offset points", ha=ha, va=va, fontsize=8
        )
        label.set_in_layout(False)  # inside the axes: the layout need not make room for it
        box = label.get_window_extent(renderer)
        free = (
            _inside(box, frame)
            and not any(_core(box).overlaps(b) for b in taken + markers)
            and not any(path.intersects_bbox(_core(box), filled=False) for path in lines)
        )
        if free:
            taken.append(box)
            return
        label.remove()
    raise RuntimeError(f"no free place for the label {name!r}")  # the test draws the real data


def draw_accuracy_vs_cost(rows: list[tuple[str, str, float, float, float]]) -> Figure:
    """ImageNet top-1 against multiply-adds (top) and parameters (bottom), one point per weight set.

    Args:
        rows: ``(network, recipe, GMACs, M parameters, top-1 %)`` per weight set, e.g.
            ``("resnet50", "new", 4.089, 25.56, 80.858)``, with ``recipe`` "simple" or
            "new" (torchvision's of 2021); a line joins the weight sets of one network,
            and its name stands beside them.

    Returns:
        The figure, 960 pixels wide at 100 dpi, both panels labelled.
    """
    if not (isinstance(rows, list) and rows and all(isinstance(r, tuple) and len(r) == 5 for r in rows)):
        raise ValueError(f"rows must be a non-empty list of 5-tuples (network, recipe, ...), got {rows!r}")
    recipes = {r[1] for r in rows}
    if not recipes <= set(RECIPES):
        raise ValueError(
            f"rows: recipe must be one of {sorted(RECIPES)}, got {sorted(recipes - set(RECIPES))}"
        )
    networks = list(dict.fromkeys(r[0] for r in rows))
    fig, axes = plt.subplots(2, 1, figsize=(9.6, 7.2), layout="constrained")
    panels = (
        (axes[0], 2, "multiply-adds per 224x224 image (G), log scale", (1, 2, 4, 8, 16, 32, 64)),
        (axes[1], 3, "parameters (M), log scale", (5, 10, 20, 40, 80, 160, 320)),
    )
    top1 = [r[4] for r in rows]
    for ax, column, xlabel, ticks in panels:
        ax.set_xscale("log")  # the costs span more than ten times: a log scale spaces them evenly
        costs = [r[column] for r in rows]
        # Room for a name on either side of the points, and above and below them.
        ax.set_xlim(min(costs) / 1.25, max(costs) * 1.5)
        ax.set_ylim(min(top1) - 1.2, max(top1) + 1.2)
        ticks = [t for t in ticks if min(costs) / 1.25 <= t <= max(costs) * 1.5]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel(xlabel)
        ax.set_ylabel("ImageNet top-1 (%)")
        for network in networks:
            color = next(c for prefix, (_, c) in FAMILIES.items() if network.startswith(prefix))
            points = sorted((r[column], r[4], r[1]) for r in rows if r[0] == network)
            ax.plot([p[0] for p in points], [p[1] for p in points], color=color, lw=0.8)
            for x, y, recipe in points:
                # Hollow: two networks of about the same cost and accuracy both show.
                ax.plot(x, y, RECIPES[recipe][0], color=color, markersize=6, fillstyle="none")
    fig.canvas.draw()  # the layout first: labels are placed in pixels
    for ax, column, *_ in panels:
        taken: list[Bbox] = []
        for network in networks:
            points = [(r[column], r[4]) for r in rows if r[0] == network]
            _place_label(ax, network, points, taken)
    handles = [Line2D([], [], color=c, lw=2, label=name) for name, c in FAMILIES.values()]
    handles += [
        Line2D([], [], color="grey", marker=marker, fillstyle="none", lw=0, label=label)
        for marker, label in RECIPES.values()
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=9, frameon=False)
    fig.suptitle(
        "torchvision's ImageNet weights (from their metadata): "
        "the same networks, simple recipes and torchvision's new ones",
        fontsize=10,
    )
    return fig


# --- Notebook 06: a training run's curves -----------------------------------------------------


def running_mean(values: list[float], window: int) -> list[float]:
    """Mean of the last `window` values at each step (of fewer at the start)."""
    check_int("window", window)
    total, means = 0.0, []
    for i, value in enumerate(values):
        total += value - (values[i - window] if i >= window else 0.0)
        means.append(total / min(i + 1, window))
    return means


def draw_training_history(
    history: dict, window: int, resumed_at: int | None = None, title: str = ""
) -> Figure:
    """The loss per step, and loss and accuracy per epoch, of a `train` history.

    Args:
        history: `train`'s history: ``step_loss`` per step, and ``train_loss``,
            ``val_loss``, ``train_acc``, ``val_acc`` per epoch.
        window: Steps of the running mean drawn over the noisy loss per step.
        resumed_at: The step at which the run was stopped and resumed, marked if given.
        title: A title above the three panels.

    Returns:
        The figure, 960 pixels wide at 100 dpi, with one legend below the panels.
    """
    import math

    keys = ("step_loss", "train_loss", "val_loss", "train_acc", "val_acc")
    if not isinstance(history, dict) or any(k not in history for k in keys):
        raise ValueError(f"history must be a dict of train's history with {', '.join(keys)}")
    epochs = range(1, len(history["val_acc"]) + 1)
    chance = dict(color="grey", lw=0.8)
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.6), layout="constrained")
    steps = history["step_loss"]
    axes[0].plot(steps, color="C0", lw=0.6, alpha=0.35, label="training loss of each step")
    axes[0].plot(running_mean(steps, window), color="C0", label=f"its running mean over {window} steps")
    if resumed_at is not None:
        axes[0].axvline(resumed_at, color="grey", ls=":", label="stopped and resumed")
    axes[0].axhline(math.log(10), **chance, label="chance (loss ln 10, accuracy 0.1)")
    axes[0].set(xlabel="step", ylabel="cross-entropy", title="loss per step")
    for ax, kind in ((axes[1], "loss"), (axes[2], "acc")):
        ax.plot(epochs, history[f"train_{kind}"], "o-", color="C0", label="training (augmented), per epoch")
        ax.plot(epochs, history[f"val_{kind}"], "s-", color="C1", label="validation, per epoch")
        ax.set_xticks(list(epochs))
        ax.set_xlabel("epoch")
    axes[1].set(ylabel="cross-entropy", title="loss per epoch")
    axes[2].axhline(0.1, **chance)
    axes[2].set(ylabel="accuracy", title="accuracy per epoch", ylim=(0, 1))
    for ax in axes:
        ax.title.set_fontsize(10)
    handles, labels = axes[0].get_legend_handles_labels()
    more, more_labels = axes[1].get_legend_handles_labels()
    fig.legend(
        handles + more, labels + more_labels, loc="outside lower center", ncol=3, fontsize=9, frameon=False
    )
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
