"""The grid's figure: images/s and the fraction of peak, resnet_lib beside torchvision."""

from __future__ import annotations

from collections.abc import Sequence

from resnet_lib.tools.benchmark.results import check_rows


def plot_results(rows: Sequence[dict], title: str = ""):
    """Bar charts of a grid: training and inference images/s per depth and mode.

    Bars are resnet_lib, black dots torchvision on the same cell (they should sit on the
    bars' tops). A third panel shows the fraction of the device's peak (in per cent) when
    it is known, the achieved TFLOP/s otherwise. The axes are linear and the bars start at
    zero, so that their lengths compare; the modes are named as the grid prints them.

    Args:
        rows: Rows of `run_grid` or of a results file.
        title: A title above the three panels.

    Returns:
        The matplotlib figure (under 1,000 pixels wide at 100 dpi).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter, ScalarFormatter

    check_rows(rows)
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
    # Constrained layout keeps the title, the labels and the legend (below the panels) apart.
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.5), layout="constrained")
    for ax, (key, label) in zip(axes, panels):
        for i, mode in enumerate(modes):
            for impl in ("resnet_lib", "torchvision"):
                points = [
                    (depths.index(r["depth"]) + (i - (len(modes) - 1) / 2) * width, r[key])
                    for r in rows
                    if r["mode"] == mode and r["impl"] == impl
                ]
                if not points:
                    continue
                xs, ys = zip(*points)
                if impl == "resnet_lib":
                    ax.bar(xs, ys, width=width, color=f"C{i}", label=mode)
                else:
                    ax.plot(xs, ys, "k.", label="torchvision" if i == 0 else None)
        ax.set_xticks(range(len(depths)), [str(d) for d in depths])
        ax.set_xlabel("ResNet depth")
        ax.set_title(label, fontsize=10)
        ax.set_ylim(bottom=0)
        if key == "train_fraction_of_peak":
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        else:
            ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))  # 40, not 4x10^1
    handles, labels = axes[0].get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda j: labels[j] == "torchvision")  # the modes first
    fig.legend(
        [handles[j] for j in order],
        [labels[j] for j in order],
        loc="outside lower center",
        ncol=len(labels),
        fontsize=9,
        frameon=False,
    )
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
