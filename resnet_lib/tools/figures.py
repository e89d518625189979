"""Figures for notebook 01: a kernel sliding over an input, drawn cell by cell.

Every figure is computed, never hand-placed: the number of windows comes from
`resnet_lib.arithmetic` (so a figure can never disagree with the formula), and
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
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from resnet_lib.arithmetic import conv_output_size, pool_output_size
from resnet_lib.tools.validate import check_int

__all__ = ["cell_roles", "conv_windows", "draw_conv_1d", "draw_conv_2d", "draw_pool_1d", "pool_windows"]

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
