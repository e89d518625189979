"""Figures and shown code read well where they are read.

Every figure function of the library, drawn at its stored size: no text under 8 pt, no two
texts of one axes on each other, no label on a line or a marker, at most about 1,000 pixels
wide (`figure_problems`), and the check itself fails on figures that break each rule.
show_source: a fenced Python block, and the plain code for nbval."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from make_figures import FIGURES
from resnet_lib.tools.benchmark import plot_results
from resnet_lib.tools.figures import (
    draw_accuracy_vs_cost,
    draw_conv_1d,
    draw_conv_2d,
    draw_pool_1d,
    draw_training_history,
    figure_problems,
    running_mean,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def grid_rows(depths, modes, peak):
    """Rows as `run_grid` gives them: resnet_lib and torchvision for every depth and mode."""
    rows = []
    for d, depth in enumerate(depths):
        for m, mode in enumerate(modes):
            for impl in ("resnet_lib", "torchvision"):
                train = 3000 / (d + 1) * (1 + 0.5 * m) * (0.97 if impl == "torchvision" else 1)
                rows.append(
                    {
                        "depth": depth,
                        "mode": mode,
                        "impl": impl,
                        "train_img_s": train,
                        "infer_img_s": 3 * train,
                        "train_tflops": train * 0.0243,
                        "train_fraction_of_peak": 0.05 * (m + 1) if peak else None,
                    }
                )
    return rows


def family_rows():
    """Notebook 07's rows, from torchvision's weight metadata (no download)."""
    from torchvision.models import get_model_weights

    networks = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "wide_resnet50_2"]
    networks += ["wide_resnet101_2", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"]
    return [
        (
            n,
            "new" if "new training recipe" in w.meta["_docs"] else "simple",
            w.meta["_ops"],
            w.meta["num_params"] / 1e6,
            w.meta["_metrics"]["ImageNet-1K"]["acc@1"],
        )
        for n in networks
        for w in get_model_weights(n)
    ]


def history(epochs=6, steps_per_epoch=40):
    steps = [2.4 * math.exp(-i / 70) + 0.3 + 0.15 * math.sin(7 * i) for i in range(epochs * steps_per_epoch)]
    return {
        "step_loss": steps,
        "train_loss": [2.2, 1.3, 0.8, 0.45, 0.36, 0.33][:epochs],
        "val_loss": [5.9, 1.35, 0.75, 0.3, 0.28, 0.27][:epochs],
        "train_acc": [0.2, 0.48, 0.68, 0.83, 0.86, 0.88][:epochs],
        "val_acc": [0.22, 0.51, 0.74, 0.87, 0.89, 0.895][:epochs],
    }


# Each figure at the size and dpi it is stored with: the notebooks' inline figures at 100 dpi,
# scripts/make_figures.py's PNG files at 120.
DRAWINGS = {
    **{f"images/{name}": (draw, 120) for name, draw in FIGURES.items()},
    "draw_conv_1d, 12 cells, padding 2": (lambda: draw_conv_1d(12, 5, stride=2, padding=2), 100),
    "draw_pool_1d, padding 1": (lambda: draw_pool_1d(5, 2, stride=2, padding=1, ceil_mode=True), 100),
    "draw_conv_2d, 1x1": (lambda: draw_conv_2d(1, 1), 100),
    "draw_conv_2d, 3x3 output": (lambda: draw_conv_2d(5, 3, stride=2, padding=1), 100),
    "plot_results, CPU grid": (
        lambda: plot_results(grid_rows((18, 50), ("fp32", "fp32+cl", "bf16+cl"), False), "CPU run"),
        100,
    ),
    "plot_results, full GPU grid": (
        lambda: plot_results(
            grid_rows((18, 34, 50, 101, 152), ("fp32", "fp32+cl", "bf16+cl", "bf16+cl+compile"), True),
            "Measured on NVIDIA H100 80GB HBM3 with torch 2.14.1; bars: resnet_lib, dots: torchvision",
        ),
        100,
    ),
    "draw_accuracy_vs_cost (notebook 07)": (lambda: draw_accuracy_vs_cost(family_rows()), 100),
    "draw_training_history (notebook 06)": (
        lambda: draw_training_history(history(), 24, 120, "ResNet-20 on generated shapes, 16x16"),
        100,
    ),
    "draw_training_history, one epoch": (lambda: draw_training_history(history(1), 4), 100),
}


@pytest.mark.parametrize("name", DRAWINGS)
def test_figure_reads_well(name):
    draw, dpi = DRAWINGS[name]
    assert figure_problems(draw(), dpi=dpi) == []


# --- the check fails where it should ----------------------------------------------------


def test_overlapping_texts_are_found():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.text(0.5, 0.5, "resnet152")
    ax.text(0.52, 0.51, "wide_resnet50_2")
    assert any("overlap" in p and "resnet152" in p for p in figure_problems(fig))


def test_small_text_is_found():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_xlabel("steps", fontsize=6)
    assert figure_problems(fig) == ["text 'steps' is 6 pt (at least 8)"]


def test_wide_figure_is_found():
    fig, _ = plt.subplots(figsize=(14, 3))
    assert any("px wide" in p for p in figure_problems(fig))
    assert figure_problems(fig, dpi=60) == []  # 14 inches at 60 dpi is 840 pixels


def test_label_on_a_marker_or_line_is_found():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2], [1, 2], "o")
    ax.annotate("on the marker", (1, 1))
    assert "text 'on the marker' covers a marker" in figure_problems(fig)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 2], [0, 2])
    ax.text(1, 1, "across", ha="center", va="center")
    assert "text 'across' crosses a line" in figure_problems(fig)


def test_label_out_of_the_frame_is_found():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_xlim(0, 1)
    ax.text(0.95, 0.5, "wide_resnet101_2")
    assert "text 'wide_resnet101_2' reaches out of the axes frame" in figure_problems(fig)


def test_legend_on_the_data_is_found():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(range(10), [5] * 10, "o-", label="flat")
    ax.legend(loc="center")
    assert any(p.startswith("the legend") for p in figure_problems(fig))


def test_overlapping_tick_labels_are_found():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_xticks(range(5), [f"ResNet-{d}" for d in (18, 34, 50, 101, 152)])
    assert any("'ResNet-18' and 'ResNet-34' overlap" in p for p in figure_problems(fig))


def test_a_figure_is_required():
    with pytest.raises(TypeError, match="fig"):
        figure_problems("figure")


def test_running_mean():
    assert running_mean([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]
    with pytest.raises(ValueError, match="window"):
        running_mean([1.0], 0)


# --- shown code: show_source's two forms ------------------------------------------------


def test_show_source_is_a_fenced_python_block_and_plain_text():
    from resnet_lib.tools.source import MONOSPACE, show_source
    from resnet_lib.tools.validate import check_int

    shown = show_source(check_int)
    markdown = shown._repr_markdown_()
    # In a monospace div (nbconvert's HTML would show the block in the text's font).
    assert markdown.startswith(f"{MONOSPACE}\n\n") and markdown.endswith("\n\n</div>")
    fenced = markdown.removeprefix(f"{MONOSPACE}\n\n").removesuffix("\n\n</div>")
    assert fenced.startswith("```python\ndef check_int(") and fenced.endswith("\n```")
    assert repr(shown) == fenced[len("```python\n") : -len("\n```")]  # text/plain: the code


def test_a_fence_inside_the_code_does_not_close_the_block():
    from resnet_lib.tools.source import Source

    def documented():
        """Example:

        ```
        documented()
        ```
        """

    markdown = Source(documented)._repr_markdown_()
    assert "\n\n````python\n" in markdown and markdown.endswith("\n````\n\n</div>")


def test_log_axis_labels_that_are_not_plain_numbers_are_found():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar([0, 1], [19.5, 50])
    ax.set_yscale("log")
    assert any("is not a plain number" in p for p in figure_problems(fig))
