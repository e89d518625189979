"""Run notebook 03's degradation experiment and store its results in the package.

    python3 tasks.py degradation                      # all arms, 3 seeds, generated data (~40 min)
    python3 tasks.py degradation --data cifar10       # on CIFAR-10, where it can be downloaded
    python3 tasks.py degradation --steps 20 --seeds 1 --out /tmp/try.json   # a quick try
    python3 tasks.py degradation --controls --seeds 1   # learning rates, warm-ups, 4x steps
    python3 tasks.py degradation --controls --names "plain-56, lr 0.01"   # one control, 3 seeds
    python3 tasks.py degradation --mechanism            # conv weight norms, first 100 steps
    python3 tasks.py degradation --depths               # plain and ResNet at 32 and 44 layers

It uses a GPU when there is one, the CPU otherwise. What it runs and why:
`resnet_lib.tools.degradation`. After a new run, re-execute notebook 03
(``python3 tasks.py execute notebooks/03_degradation_problem.ipynb``): its cells assert the
conclusions on the stored files, so a result that says otherwise fails there.
"""

from __future__ import annotations

import argparse
import time

from resnet_lib.tools.degradation import (
    ARMS,
    CONTROLS,
    CONTROLS_FILE,
    DEGRADATION_FILE,
    DEPTH_ARMS,
    DEPTHS_FILE,
    MECHANISM_FILE,
    SETTINGS,
    measure_mechanism,
    run_controls,
    run_experiment,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tasks.py degradation", description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--controls", action="store_true", help=f"run the controls instead: {'; '.join(CONTROLS)}"
    )
    what.add_argument(
        "--mechanism", action="store_true", help="measure conv weight norms over the first steps instead"
    )
    what.add_argument(
        "--depths", action="store_true", help=f"train the depths between instead: {'; '.join(DEPTH_ARMS)}"
    )
    parser.add_argument("--out", default=None, help="JSON file to write (default: the stored one)")
    parser.add_argument(
        "--arms",
        nargs="+",
        default=list(ARMS),
        choices=list(ARMS),
        metavar="ARM",
        help=f"networks to train (default: all of {'; '.join(ARMS)}. Not used by --controls, "
        "--mechanism or --depths, which train their own)",
    )
    parser.add_argument(
        "--names",
        nargs="+",
        default=list(CONTROLS),
        choices=list(CONTROLS),
        metavar="NAME",
        help="with --controls: the controls to run, each name in quotes (default: all; see --controls)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=3,
        help="seeds per arm, control or mechanism run (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="CPU runs in parallel (default: %(default)s; --controls and --mechanism run one at a time)",
    )
    parser.add_argument(
        "--data",
        choices=("shapes", "cifar10"),
        default=SETTINGS["data"],
        help="data set (default: %(default)s; --mechanism always uses the generated shapes)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="steps per run (default: 1,600; 64,000 with --data cifar10; 100 with --mechanism)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.mechanism:
        out = args.out or str(MECHANISM_FILE)
        measure_mechanism(out, steps=args.steps or 100, seeds=args.seeds)
        print(f"written to {out} in {time.perf_counter() - start:.0f} s")
        return
    overrides = {"data": args.data} if args.steps is None else {"data": args.data, "steps": args.steps}
    if args.controls:
        out = args.out or str(CONTROLS_FILE)
        result = run_controls(out, tuple(args.names), seeds=args.seeds, **overrides)
    elif args.depths:
        out = args.out or str(DEPTHS_FILE)
        result = run_experiment(out, tuple(DEPTH_ARMS), args.seeds, args.workers, **overrides)
    else:
        out = args.out or str(DEGRADATION_FILE)
        result = run_experiment(out, tuple(args.arms), args.seeds, args.workers, **overrides)
    print(f"{len(result['runs'])} runs written to {out} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
