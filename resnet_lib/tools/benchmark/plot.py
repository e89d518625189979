"""The grid's figure: images/s and the fraction of peak, resnet_lib beside torchvision."""

from __future__ import annotations

from collections.abc import Sequence

from resnet_lib.tools.benchmark.results import _check_rows


def plot_results(rows: Sequence[dict], title: str = ""):
    """Bar charts of a grid: training and inference images/s (log scale) per depth and mode.

    Bars are resnet_lib, black dots torchvision on the same cell (they should sit on the
    bars' tops). A third panel shows the fraction of the device's peak when it is known,
    the achieved TFLOP/s otherwise.

    Args:
        rows: Rows of `run_grid` or of a results file.
        title: A title above the three panels.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    _check_rows(rows)
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {title!r}")
    if not rows:
        raise ValueError("rows must hold at least one result; got none")
    depths = sorted({r["depth"] for r in rows})
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    use_peak = all(r.get("train_fraction_of_peak") is not None for r in rows)
    panels = [
        ("train_img_s", "training images/s"),
        ("infer_img_s", "inference images/s"),
        ("train_fraction_of_peak", "training: fraction of peak")
        if use_peak
        else ("train_tflops", "training: achieved TFLOP/s"),
    ]
    width = 0.8 / len(modes)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (key, label) in zip(axes, panels):
        for i, mode in enumerate(modes):
            for impl, style in (("resnet_lib", "bar"), ("torchvision", "dot")):
                points = [
                    (depths.index(r["depth"]) + (i - (len(modes) - 1) / 2) * width, r[key])
                    for r in rows
                    if r["mode"] == mode and r["impl"] == impl
                ]
                if not points:
                    continue
                xs, ys = zip(*points)
                if style == "bar":
                    ax.bar(xs, ys, width=width, color=f"C{i}", label=mode)
                else:
                    ax.plot(xs, ys, "k.", label="torchvision" if i == 0 else None)
        ax.set_xticks(range(len(depths)), [f"ResNet-{d}" for d in depths])
        ax.set_title(label)
        if key.endswith("img_s"):
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
