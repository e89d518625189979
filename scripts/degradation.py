"""Run notebook 02's degradation experiment and store its results in the package.

    python3 tasks.py degradation                      # all arms, 3 seeds, generated data (~40 min)
    python3 tasks.py degradation --data cifar10       # on CIFAR-10, where it can be downloaded
    python3 tasks.py degradation --steps 20 --seeds 1 --out /tmp/try.json   # a quick try

What it runs and why: `resnet_lib.tools.degradation`. After a new run, re-execute notebook 02
(``python3 tasks.py execute notebooks/02_residual_blocks.ipynb``): its cells assert the
conclusions on the stored file, so a result that says otherwise fails there.
"""

from __future__ import annotations

import argparse
import time

from resnet_lib.tools.degradation import ARMS, DEGRADATION_FILE, SETTINGS, run_experiment


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tasks.py degradation", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", default=str(DEGRADATION_FILE), help="JSON file to write (default: %(default)s)"
    )
    parser.add_argument(
        "--arms",
        nargs="+",
        default=list(ARMS),
        choices=list(ARMS),
        metavar="ARM",
        help=f"networks to train (default: all of {', '.join(ARMS)})",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per arm (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="runs in parallel (default: %(default)s)")
    parser.add_argument("--data", choices=("shapes", "cifar10"), default=SETTINGS["data"])
    parser.add_argument(
        "--steps", type=int, default=None, help="steps per run (default: 1,600; 64,000 with --data cifar10)"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    overrides = {"data": args.data} if args.steps is None else {"data": args.data, "steps": args.steps}
    result = run_experiment(args.out, tuple(args.arms), args.seeds, args.workers, **overrides)
    print(f"{len(result['runs'])} runs written to {args.out} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
