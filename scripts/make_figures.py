"""Save the reusable figures of the series into images/ as PNG files.

    python scripts/make_figures.py

The notebooks draw their figures themselves (with `resnet_lib.tools.figures`); these
copies are for the README, slides and anyone who wants the pictures alone.
Reruns give byte-identical files: the Agg backend draws the same pixels every
time, and the PNG metadata (which would name the matplotlib version) is dropped.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed, and the same pixels on every machine

import matplotlib.pyplot as plt  # after choosing the backend
from matplotlib.figure import Figure

from resnet_lib.tools.figures import draw_conv_1d, draw_conv_2d, draw_pool_1d

IMAGES = Path(__file__).resolve().parents[1] / "images"

#: file name -> function that draws it (the examples of notebook 01).
FIGURES = {
    "conv_sliding_1d.png": lambda: draw_conv_1d(5, 3),
    "conv_stride_unused.png": lambda: draw_conv_1d(7, 2, stride=3),
    "conv_floor_drops.png": lambda: draw_conv_1d(6, 3, stride=2),
    "conv_padding_fits.png": lambda: draw_conv_1d(6, 3, stride=2, padding=1),
    "conv_dilation.png": lambda: draw_conv_1d(7, 3, dilation=2),
    "conv_padding_stride.png": lambda: draw_conv_2d(5, 3, stride=2, padding=1),
    "pool_ceil_mode.png": lambda: draw_pool_1d(6, 3, stride=2, ceil_mode=True),
}


def save(fig: Figure, path: Path) -> None:
    """Save a figure as a reproducible PNG and close it."""
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    for name, draw in FIGURES.items():
        save(draw(), IMAGES / name)
        print(f"images/{name}")


if __name__ == "__main__":
    main()
