"""The command line of the benchmark: the README's parity benchmark, or the grid of notebook 05.

    python3 tasks.py bench --depth 50 --batch-size 8     # the README's parity benchmark
    python3 tasks.py bench --grid --out resnet_lib/measured/gpu_benchmark.json

``python -m resnet_lib.tools.benchmark ...`` is the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from resnet_lib.device import device_description, pick_device
from resnet_lib.tools.benchmark.grid import DEPTHS, MODES, grid_configs, grid_for
from resnet_lib.tools.benchmark.parity import parity_benchmark
from resnet_lib.tools.benchmark.results import (
    MEMORY_COLUMNS,
    check_appendable,
    format_rows,
    parity,
    save_results,
)
from resnet_lib.tools.benchmark.runner import memory_kind, run_grid
from resnet_lib.tools.timing import SPEED_SETTINGS
from resnet_lib.tools.validate import check_device


def _whole_number(text: str, minimum: int) -> int:
    """An argparse type: a whole number of at least `minimum` (a batch of 0 images is an error)."""
    allowed = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _positive_int_or_zero(text: str) -> int:
    return _whole_number(text, 0)


def main(argv: list[str] | None = None) -> None:
    """Run the command line with `argv` (default: ``sys.argv[1:]``); ``--help`` says what it takes.

    Args:
        argv: The arguments, e.g. ``["--grid", "--device", "cpu", "--depths", "18"]``.
    """
    argv = sys.argv[1:] if argv is None else argv
    if "--data" in argv:  # the data pipelines' benchmark has its own options
        from resnet_lib.tools.benchmark import data_bench

        data_bench.main(argv)
        return
    parser = argparse.ArgumentParser(
        prog="tasks.py bench",
        description="Time resnet_lib against torchvision (forward + backward), or run the grid of notebook 05."
        f" Timed with {SPEED_SETTINGS}, as a training run for speed would.",
    )
    parser.add_argument("--depth", type=int, default=50, choices=DEPTHS, help="parity benchmark: the depth")
    parser.add_argument(
        "--batch-size", type=_positive_int, default=None, help="default: 8, or the grid's default"
    )
    parser.add_argument(
        "--image-size", type=_positive_int, default=None, help="default: 224, or the grid's default"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best available)")
    grid = parser.add_argument_group("grid (notebook 05)")
    grid.add_argument("--grid", action="store_true", help="run the grid: depths x modes x implementations")
    grid.add_argument("--depths", type=int, nargs="+", choices=DEPTHS, help="default: the device's grid")
    grid.add_argument("--modes", nargs="+", choices=list(MODES), help="default: the device's grid")
    grid.add_argument("--rounds", type=_positive_int, default=5, help="timed rounds per cell (median)")
    grid.add_argument(
        "--warmup", type=_positive_int_or_zero, default=3, help="untimed steps per cell, after the first"
    )
    grid.add_argument(
        "--out", type=Path, default=None, help="write the rows to this JSON file (after every cell)"
    )
    grid.add_argument(
        "--append", action="store_true", help="keep the rows already in --out (same device and versions)"
    )
    args = parser.parse_args(argv)
    try:
        device = check_device("--device", args.device) if args.device else None
    except ValueError as e:
        parser.error(str(e))
    if not args.grid:
        if args.out is not None or args.depths or args.modes or args.append:
            parser.error("--out, --append, --depths and --modes go with --grid")
        batch_size, image_size = args.batch_size or 8, args.image_size or 224
        device = device or pick_device()
        print(
            f"ResNet-{args.depth}, batch {batch_size}, {image_size}x{image_size}, forward + backward, on"
            f" {device_description(device)}: resnet_lib against torchvision (same weights, same batch).",
            flush=True,
        )
        stats = parity_benchmark(
            args.depth, batch_size, image_size, device, progress=lambda line: print(line, flush=True)
        )
        ours, theirs = stats["resnet_lib"], stats["torchvision"]
        for name, s in stats.items():
            print(
                f"  {name:12s} {s.seconds * 1e3:9.1f} ms/step   {s.memory_bytes / 2**20:8.1f} MiB ({s.memory_kind})"
            )
        print(f"  time ratio   (resnet_lib / torchvision): {ours.seconds / theirs.seconds:.3f}")
        print(f"  memory ratio (resnet_lib / torchvision): {ours.memory_bytes / theirs.memory_bytes:.3f}")
        return

    device = device or pick_device()
    grid = grid_for(device)
    configs = grid_configs(
        args.depths or grid["depths"],
        args.modes or grid["modes"],
        args.batch_size or grid["batch_size"],
        args.image_size or grid["image_size"],
        device,
    )
    if args.append and args.out is not None:
        check_appendable(args.out, device)
    print(
        f"{len(configs)} cells on {device_description(device)}, torch {torch.__version__}, {SPEED_SETTINGS}",
        flush=True,
    )
    kind = memory_kind(device)
    print(f"({MEMORY_COLUMNS[kind]}: {kind})", flush=True)
    print(format_rows([], memory=kind), flush=True)
    measured: list[dict] = []

    def keep(row: dict) -> None:
        print(format_rows([row], header=False), flush=True)
        measured.append(row)
        if args.out is not None:  # now, so that a run stopped halfway keeps what it measured
            save_results(measured, args.out, device, append=args.append)

    rows = run_grid(configs, device, rounds=args.rounds, warmup=args.warmup, progress=keep)
    for p in parity(rows):
        print(
            f"ResNet-{p['depth']:<4} {p['mode']:<17} resnet_lib / torchvision: train {p['train_ratio']:.3f}, infer {p['infer_ratio']:.3f}"
        )
    if args.out is not None:
        print(f"wrote {args.out}")
