"""The degradation experiment of notebook 02: plain vs residual nets at 20 and 56 layers.

He et al. 2015 (arXiv:1512.03385, Sec. 4.1-4.2, Fig. 1 and 6) found that a deeper
*plain* network ends with a higher *training* error than a shallower one: an
optimisation failure, not overfitting. Shortcuts remove it. This module runs that
comparison, several seeds per network ("arm"), and stores every epoch's training and
validation error in one JSON file that the notebook plots and asserts on:

    python3 tasks.py degradation                    # the stored run (about 40 min, 2 cores)
    python3 tasks.py degradation --data cifar10     # the same on CIFAR-10, where downloadable

A run that long does not fit in a notebook executed in CI, so it runs once, and its
result ships with the package (`MEASURED_DIR / "degradation.json"`), like the GPU
measurements.
"""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import platform
from pathlib import Path
from typing import Any

import torch

from resnet_lib.cifar import cifar_resnet
from resnet_lib.device import MEASURED_DIR, seed_everything
from resnet_lib.tools.data import AugmentedDataset, image_data, make_loaders
from resnet_lib.tools.validate import check_int, check_number, check_one_of, check_path
from resnet_lib.training import train

__all__ = [
    "ARMS",
    "DEGRADATION_FILE",
    "SETTINGS",
    "final_values",
    "load_degradation",
    "run_arm",
    "run_experiment",
]

#: The networks compared, as `cifar_resnet` arguments (depth, shortcut, options).
ARMS: dict[str, dict[str, Any]] = {
    "plain-20": dict(depth=20, shortcut=None),
    "plain-56": dict(depth=56, shortcut=None),
    "ResNet-20": dict(depth=20, shortcut="A"),
    "ResNet-56": dict(depth=56, shortcut="A"),
    "ResNet-56, zero-init": dict(depth=56, shortcut="A", zero_init_residual=True),
    "pre-act ResNet-56": dict(depth=56, shortcut="A", preact=True),
}

#: The recipe of Sec. 4.2 (SGD, momentum 0.9, weight decay 1e-4, the learning rate divided
#: by 10 at 50 % and 75 % of the steps, pad-and-crop + flip), scaled to a 2-core CPU:
#: 16x16 generated images, batches of 64 at lr 0.05 (the paper: 128 at 0.1), 1,600 steps
#: instead of 64,000.
SETTINGS: dict[str, Any] = dict(
    data="shapes",
    image_size=16,
    n_train=3200,
    n_val=1000,
    batch_size=64,
    steps=1600,
    lr=0.05,
    warmup_steps=0,
    momentum=0.9,
    weight_decay=1e-4,
    schedule="step",
    crop_padding=2,
)

#: The same on CIFAR-10 at the paper's own scale (Sec. 4.2): 45k/5k images of 32x32, batches of
#: 128 at lr 0.1, pad 4 and crop, 64,000 steps (hours per run on a GPU; not run for this repository).
CIFAR10_SETTINGS: dict[str, Any] = {
    **SETTINGS,
    **dict(data="cifar10", image_size=32, n_train=None, n_val=None, batch_size=128, lr=0.1, crop_padding=4),
    "steps": 64_000,
}

DEGRADATION_FILE = MEASURED_DIR / "degradation.json"


def _check_settings(settings: dict[str, Any]) -> None:
    """Raise unless `settings` has every key of `SETTINGS`, with sizes and steps in range."""
    if not isinstance(settings, dict):
        raise TypeError(f"settings must be a dict like SETTINGS, got {type(settings).__name__}")
    missing = sorted(set(SETTINGS) - set(settings))
    if missing:
        raise ValueError(f"settings lacks {missing}: start from SETTINGS, e.g. {{**SETTINGS, 'steps': 20}}")
    for name in ("image_size", "batch_size", "steps"):
        check_int(name, settings[name])
    check_int("crop_padding", settings["crop_padding"], minimum=0)
    check_number("lr", settings["lr"], strict=True)
    check_one_of("data", settings["data"], ("shapes", "cifar10"))


def run_arm(arm: str, seed: int, settings: dict[str, Any] = SETTINGS) -> dict[str, Any]:
    """Train one arm with one seed; return its per-epoch training and validation errors.

    The seed sets the initial weights, the order of the batches and the random crops;
    the data set is the same for every arm and seed.
    """
    check_one_of("arm", arm, ARMS)
    _check_settings(settings)
    seed_everything(seed, num_threads=1)  # one thread per run: runs go in parallel instead
    prefer = "shapes" if settings["data"] == "shapes" else "cifar10"
    data = image_data(
        prefer, image_size=settings["image_size"], n_train=settings["n_train"], n_val=settings["n_val"]
    )
    train_set = AugmentedDataset(data.train, padding=settings["crop_padding"])
    train_loader, val_loader = make_loaders(train_set, data.val, settings["batch_size"], seed=seed)
    model = cifar_resnet(**ARMS[arm])
    epochs = -(-settings["steps"] // len(train_loader))  # ceil: max_steps ends the last one
    history = train(
        model,
        train_loader,
        val_loader,
        epochs=epochs,
        lr=settings["lr"],
        momentum=settings["momentum"],
        weight_decay=settings["weight_decay"],
        schedule=settings["schedule"],
        warmup_steps=settings["warmup_steps"],
        max_steps=settings["steps"],
        device="cpu",
        progress=False,
    )
    steps = [min((e + 1) * len(train_loader), settings["steps"]) for e in range(len(history["train_acc"]))]
    return {
        "arm": arm,
        "seed": seed,
        "data": data.name,
        "step": steps,
        "train_error": [round(1 - a, 5) for a in history["train_acc"]],
        "train_loss": [round(v, 5) for v in history["train_loss"]],
        "val_error": [round(1 - a, 5) for a in history["val_acc"]],
        "val_loss": [round(v, 5) for v in history["val_loss"]],
        "first_step_loss": round(history["step_loss"][0], 5),
    }


def _run_job(job: tuple[str, int, dict[str, Any]]) -> dict[str, Any]:
    try:
        return run_arm(*job)
    except FloatingPointError as e:  # a diverged run is a result too: keep it, keep going
        return {"arm": job[0], "seed": job[1], "diverged": str(e)}


def run_experiment(
    out: str | os.PathLike = DEGRADATION_FILE,
    arms: tuple[str, ...] = tuple(ARMS),
    seeds: int = 3,
    workers: int = 2,
    **overrides: Any,
) -> dict[str, Any]:
    """Run every arm with every seed and write the results to `out` after each run.

    Args:
        out: The JSON file to write (rewritten after every finished run, so an
            interrupted experiment keeps what it finished).
        arms: Names from `ARMS`.
        seeds: Seeds 0, 1, ..., seeds - 1 for every arm.
        workers: Runs in parallel, one CPU thread each.
        **overrides: Changes to `SETTINGS` (e.g. ``steps=20`` for a quick try); with
            ``data="cifar10"`` to `CIFAR10_SETTINGS`.

    Returns:
        What was written: ``{"settings", "environment", "runs"}``.
    """
    check_path("out", out)
    check_int("seeds", seeds)
    check_int("workers", workers)
    if not isinstance(arms, (tuple, list)):
        raise TypeError(f"arms must be a tuple of names from ARMS, e.g. ('ResNet-20',), got {arms!r}")
    for arm in arms:
        check_one_of("arm", arm, ARMS)
    unknown = set(overrides) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; allowed: {sorted(SETTINGS)}")
    base = CIFAR10_SETTINGS if overrides.get("data") == "cifar10" else SETTINGS
    settings = {**base, **overrides}
    _check_settings(settings)  # here, before any worker starts
    result = {
        "settings": settings,
        "environment": {
            "device": f"CPU ({platform.processor() or platform.machine()}, {workers} runs in parallel)",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "date": datetime.date.today().isoformat(),
        },
        "runs": [],
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Seed-major order: if the experiment is stopped early, every arm has the same seeds.
    jobs = [(arm, seed, settings) for seed in range(seeds) for arm in arms]
    # "spawn": a fresh interpreter per worker, with no threads inherited from this one.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for run in pool.imap_unordered(_run_job, jobs):
            result["runs"].append(run)
            result["runs"].sort(key=lambda r: (list(arms).index(r["arm"]), r["seed"]))
            partial = out.with_name(out.name + ".partial")
            partial.write_text(json.dumps(result, indent=1) + "\n")
            os.replace(partial, out)
            if "diverged" in run:
                print(f"{run['arm']:>22} seed {run['seed']}: diverged ({run['diverged']})", flush=True)
            else:
                print(
                    f"{run['arm']:>22} seed {run['seed']}: final training error {run['train_error'][-1]:.3f}, "
                    f"validation error {run['val_error'][-1]:.3f}",
                    flush=True,
                )
    return result


def load_degradation(path: str | os.PathLike = DEGRADATION_FILE) -> dict[str, Any]:
    """The stored experiment: ``{"settings", "environment", "runs"}`` (see `run_experiment`)."""
    check_path("path", path)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no degradation results at {str(path)!r}: run `python3 tasks.py degradation`"
        )
    return json.loads(path.read_text())


def final_values(result: dict[str, Any], arm: str, key: str = "train_error") -> list[float]:
    """One number per seed: `key` (e.g. ``"train_error"``, ``"val_error"``) at the end of `arm`'s runs.

    Diverged runs count as an error of 1 (a loss of infinity), so that they cannot look good.
    """
    check_one_of("arm", arm, ARMS)
    check_one_of("key", key, ("train_error", "train_loss", "val_error", "val_loss"))
    if not (isinstance(result, dict) and isinstance(result.get("runs"), list)):
        raise TypeError("result must be what load_degradation or run_experiment returns (a dict with 'runs')")
    runs = sorted((r for r in result["runs"] if r["arm"] == arm), key=lambda r: r["seed"])
    if not runs:
        raise ValueError(
            f"the results hold no run of {arm!r}; they have {sorted({r['arm'] for r in result['runs']})}"
        )
    worst = 1.0 if key.endswith("error") else float("inf")
    return [worst if "diverged" in r else r[key][-1] for r in runs]
