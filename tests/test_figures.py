"""Tests for resnet_lib.tools.figures: every drawing runs, returns a Figure, and agrees with
the arithmetic; bad settings fail with the arithmetic's own clear errors."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from resnet_lib.arithmetic import conv_output_size, pool_output_size
from resnet_lib.tools.figures import (
    cell_roles,
    conv_windows,
    draw_conv_1d,
    draw_conv_2d,
    draw_pool_1d,
    pool_windows,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    "draw",
    [
        lambda: draw_conv_1d(5, 3),
        lambda: draw_conv_1d(7, 2, stride=3),
        lambda: draw_conv_1d(6, 3, stride=2, padding=1),
        lambda: draw_conv_1d(7, 3, dilation=2),
        lambda: draw_pool_1d(6, 3, stride=2, ceil_mode=True),
        lambda: draw_pool_1d(5, 2, stride=2, padding=1, ceil_mode=True),
        lambda: draw_conv_2d(5, 3, stride=2, padding=1),
        lambda: draw_conv_2d(1, 1),
    ],
)
def test_draw_returns_figure(draw):
    assert isinstance(draw(), Figure)


@pytest.mark.parametrize(
    "size,kernel_size,stride,padding,dilation", [(9, 3, 2, 1, 1), (10, 3, 3, 0, 2), (5, 5, 1, 2, 1)]
)
def test_windows_count_matches_arithmetic(size, kernel_size, stride, padding, dilation):
    windows = conv_windows(size, kernel_size, stride, padding, dilation)
    assert len(windows) == conv_output_size(size, kernel_size, stride, padding, dilation)
    assert all(len(w) == kernel_size for w in windows)
    assert windows[-1][-1] < size + 2 * padding  # a conv window never leaves the padded input


def test_roles_mark_dropped_and_skipped_cells():
    # 7 cells, kernel 2, stride 3: windows read 0-1 and 3-4; 2 is skipped, 5 and 6 dropped.
    assert cell_roles(7, 0, conv_windows(7, 2, stride=3)) == [
        "input",
        "input",
        "unused",
        "input",
        "input",
        "unused",
        "unused",
    ]
    # With padding 1, kernel 3, stride 2 on 6 cells, only the right padding is left unread.
    assert cell_roles(6, 1, conv_windows(6, 3, stride=2, padding=1)) == ["padding"] + ["input"] * 6 + [
        "padding"
    ]


def test_ceil_mode_window_reaches_outside():
    windows = pool_windows(6, 3, stride=2, ceil_mode=True)
    assert len(windows) == pool_output_size(6, 3, stride=2, ceil_mode=True) == 3
    assert cell_roles(6, 0, windows)[-1] == "outside"


@pytest.mark.parametrize(
    "draw,message",
    [
        (lambda: draw_conv_1d(3, 5), "kernel_size"),
        (lambda: draw_conv_1d(5, 3, stride=0), "stride"),
        (lambda: draw_conv_2d(4, 3, padding=-1), "padding"),
        (lambda: draw_pool_1d(5, 3, padding=2), "padding"),
        (lambda: draw_conv_2d(30, 3), "one panel per output cell"),
    ],
)
def test_bad_input_raises_value_error(draw, message):
    # The message names the argument (its wording is the arithmetic's own).
    with pytest.raises(ValueError, match=message):
        draw()


def test_bad_type_raises_type_error():
    with pytest.raises(TypeError, match="kernel_size"):
        draw_conv_1d(5, 2.5)
