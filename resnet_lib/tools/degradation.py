"""The degradation experiment of notebook 03: plain vs residual nets at 20 and 56 layers (and 32, 44).

He et al. 2015 (arXiv:1512.03385, Sec. 4.1-4.2, Fig. 1 and 6) found that a deeper
*plain* network ends with a higher *training* error than a shallower one: an
optimisation failure, not overfitting. Shortcuts remove it. This module runs that
comparison, several seeds per network ("arm"), and stores every epoch's training and
validation error in one JSON file that the notebook plots and asserts on:

    python3 tasks.py degradation                    # the stored run (about 40 min, 2 cores)
    python3 tasks.py degradation --controls         # learning rates, warm-ups, 4x the steps
    python3 tasks.py degradation --mechanism        # weight norms over the first steps
    python3 tasks.py degradation --depths           # plain and ResNet at 32 and 44 layers

It trains on a GPU when there is one (cuDNN's autotuner, channels_last and the library's
mixed precision, as notebook 05 measures them) and on the CPU otherwise (float32, one
thread per run, digits repeatable on the same CPU). Runs that long do not fit in a
notebook executed in CI, so they run once and their results ship with the package
(`MEASURED_DIR`), like the GPU measurements.

"Training error" has two meanings in the files. ``train_error`` is the running mean over
an epoch's augmented batches in train mode (what a training loop prints for free);
``clean_train_error`` is an unambiguous training error (Fig. 6 of the paper does not say
how it measured its own): the error on a fixed set of `CLEAN_IMAGES` training images,
not augmented, in eval mode, at the end of every epoch.
"""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Subset

from resnet_lib.cifar import cifar_resnet
from resnet_lib.device import MEASURED_DIR, device_description, pick_device, seed_everything
from resnet_lib.precision import autocast, grad_scaler, training_precision
from resnet_lib.schedule import lr_at
from resnet_lib.tools.data import AugmentedDataset, image_data, make_loaders
from resnet_lib.tools.validate import check_device, check_int, check_number, check_one_of, check_path
from resnet_lib.training import evaluate

__all__ = [
    "ARMS",
    "CLEAN_IMAGES",
    "DEPTH_ARMS",
    "DEPTHS_FILE",
    "CONTROLS",
    "CONTROLS_FILE",
    "DEGRADATION_FILE",
    "MECHANISM_FILE",
    "experiment_settings",
    "SETTINGS",
    "final_values",
    "load_degradation",
    "measure_mechanism",
    "run_arm",
    "run_controls",
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

#: The depths between: Fig. 6 of the paper trains plain nets of 20, 32, 44 and 56 layers, whose
#: training error grows with depth while each still trains. Does this recipe show that milder
#: regime at 32 or 44 layers, where plain-56 hardly trains? Same recipe, stored separately.
DEPTH_ARMS: dict[str, dict[str, Any]] = {
    f"{kind}-{depth}": dict(depth=depth, shortcut=shortcut)
    for depth in (32, 44)
    for kind, shortcut in (("plain", None), ("ResNet", "A"))
}

#: Every network a run can train, by name.
NETWORKS: dict[str, dict[str, Any]] = {**ARMS, **DEPTH_ARMS}

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
#: 128 at lr 0.1, pad 4 and crop, 64,000 steps. Not run for this repository: no cost or
#: outcome of it is known here.
CIFAR10_SETTINGS: dict[str, Any] = {
    **SETTINGS,
    **dict(data="cifar10", image_size=32, n_train=None, n_val=None, batch_size=128, lr=0.1, crop_padding=4),
    "steps": 64_000,
}

#: The controls a sceptic asks for, each a change to `SETTINGS` for one network: is plain-56's
#: failure a bad learning rate, a missing warm-up (Sec. 4.2 warms ResNet-110 up at 0.01 until
#: the training error is below 80 %), or too few steps?
#: In the order they run: the most telling first, for a machine that cannot finish them all.
CONTROLS: dict[str, dict[str, Any]] = {
    "plain-56, warm-up": dict(arm="plain-56", lr=0.1, warmup=(0.01, 0.8)),
    # The warm-up above is the paper's, on the same clock: the schedule's divisions come at
    # steps 800 and 1,200 whenever it ends. This one gives plain-56 the whole schedule at 0.1
    # after the warm-up (which lasts at most `steps` steps), so that it runs at 0.1.
    "plain-56, warm-up, then all steps": dict(arm="plain-56", lr=0.1, warmup=(0.01, 0.8), restart=True),
    **{f"plain-56, lr {lr}": dict(arm="plain-56", lr=lr) for lr in (0.1, 0.01, 0.02, 0.05)},
    **{f"plain-20, lr {lr}": dict(arm="plain-20", lr=lr) for lr in (0.1, 0.01, 0.02, 0.05)},
    "plain-56, 4x steps": dict(arm="plain-56", steps_factor=4),
}

#: How many training images (the first ones, not augmented) the clean training error uses.
CLEAN_IMAGES = 1000

DEGRADATION_FILE = MEASURED_DIR / "degradation.json"
CONTROLS_FILE = MEASURED_DIR / "degradation_controls.json"
MECHANISM_FILE = MEASURED_DIR / "degradation_mechanism.json"
DEPTHS_FILE = MEASURED_DIR / "degradation_depths.json"


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


def experiment_settings(**overrides: Any) -> dict[str, Any]:
    """`SETTINGS` (`CIFAR10_SETTINGS` with ``data="cifar10"``) with `overrides`, checked."""
    unknown = set(overrides) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; allowed: {sorted(SETTINGS)}")
    base = CIFAR10_SETTINGS if overrides.get("data") == "cifar10" else SETTINGS
    settings = {**base, **overrides}
    _check_settings(settings)
    return settings


def _prepare(device: torch.device, seed: int) -> None:
    """Seeds, and the speed settings: notebook 05's on a GPU, one repeatable thread on a CPU."""
    if device.type == "cuda":
        seed_everything(seed, num_threads=None, deterministic=False)
        torch.backends.cudnn.benchmark = True  # the autotuner: the fastest conv algorithms
    else:
        seed_everything(seed, num_threads=1)  # one thread per run: runs go in parallel instead


def _to(device: torch.device, x: torch.Tensor) -> torch.Tensor:
    if device.type == "cuda":  # NHWC: what tensor cores read fastest
        return x.to(device, non_blocking=True, memory_format=torch.channels_last)
    return x.to(device)


def _loaders(settings: dict[str, Any], seed: int) -> tuple[DataLoader, DataLoader, DataLoader, str]:
    prefer = "shapes" if settings["data"] == "shapes" else "cifar10"
    data = image_data(
        prefer, image_size=settings["image_size"], n_train=settings["n_train"], n_val=settings["n_val"]
    )
    train_set = AugmentedDataset(data.train, padding=settings["crop_padding"])
    train_loader, val_loader = make_loaders(train_set, data.val, settings["batch_size"], seed=seed)
    # The same images for every arm and seed: the first ones, as stored (no crop, no flip).
    clean = Subset(data.train, range(min(CLEAN_IMAGES, len(data.train))))
    clean_loader = DataLoader(clean, 2 * settings["batch_size"], shuffle=False)
    return train_loader, val_loader, clean_loader, data.name


def run_arm(
    arm: str,
    seed: int,
    settings: dict[str, Any] = SETTINGS,
    warmup: tuple[float, float] | None = None,
    device: torch.device | str | None = None,
    on_epoch: Callable[[dict[str, list]], None] | None = None,
    restart: bool = False,
) -> dict[str, Any]:
    """Train one arm with one seed; return its training and validation errors per epoch.

    The seed sets the initial weights, the order of the batches and the random crops;
    the data set is the same for every arm and seed. ``warmup=(0.01, 0.8)`` trains at
    0.01 until the clean training error is below 0.8, then follows the schedule (Sec. 4.2);
    with ``restart=True`` the schedule starts afresh there and runs all its steps (the warm-up
    lasting at most as many). `on_epoch` is called with the curves so far after every epoch.
    """
    check_one_of("arm", arm, NETWORKS)
    _check_settings(settings)
    if warmup is not None:
        if not (isinstance(warmup, (tuple, list)) and len(warmup) == 2):
            raise TypeError(f"warmup must be None or (lr, error below which it ends), got {warmup!r}")
        check_number("warmup lr", warmup[0], strict=True)
        check_number("warmup error", warmup[1])
    if not isinstance(restart, bool) or (restart and warmup is None):
        raise TypeError(f"restart must be True or False, and True only with a warmup; got {restart!r}")
    device = pick_device(verbose=False) if device is None else check_device("device", device)
    _prepare(device, seed)
    train_loader, val_loader, clean_loader, data_name = _loaders(settings, seed)
    model = cifar_resnet(**NETWORKS[arm]).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    precision = training_precision(device)
    total = settings["steps"]
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=settings["lr"],
        momentum=settings["momentum"],
        weight_decay=settings["weight_decay"],
    )
    scaler = grad_scaler(device, precision)
    keys = ("step", "lr", "train_error", "train_loss", "clean_train_error", "clean_train_loss")
    curves: dict[str, list] = {k: [] for k in (*keys, "val_error", "val_loss")}
    step, first_loss, warming = 0, None, warmup is not None
    start, end = 0, 2 * total if restart else total  # the schedule's first step, the run's last
    while step < end:
        model.train()
        loss_sum, wrong, seen = torch.zeros(()), torch.zeros(()), 0
        for images, labels in train_loader:
            images, labels = _to(device, images), labels.to(device)
            lr = (
                warmup[0]
                if warming
                else lr_at(
                    step - start, total, settings["lr"], settings["schedule"], settings["warmup_steps"]
                )
            )
            for group in optimizer.param_groups:
                group["lr"] = lr
            with autocast(device, precision):
                logits = model(images)
            loss = F.cross_entropy(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if first_loss is None:
                first_loss = loss.item()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the loss is {loss.item()} at step {step}")
            loss_sum = loss_sum + loss.detach().cpu() * len(labels)
            wrong = wrong + (logits.argmax(1) != labels).sum().cpu()
            seen += len(labels)
            step += 1
            if step == end:
                break
        clean_loss, clean_acc = evaluate(model, clean_loader, device)
        val_loss, val_acc = evaluate(model, val_loader, device)
        for key, value in zip(
            (*keys, "val_error", "val_loss"),
            (
                step,
                lr,
                float(wrong) / seen,
                float(loss_sum) / seen,
                1 - clean_acc,
                clean_loss,
                1 - val_acc,
                val_loss,
            ),
        ):
            curves[key].append(value if key == "step" else round(value, 5))
        if warming and (1 - clean_acc < warmup[1] or (restart and step >= total)):
            warming = False  # below the threshold: back to the schedule's rate
            if restart:
                start, end = step, step + total
        if on_epoch is not None:
            on_epoch(curves)
    return {"arm": arm, "seed": seed, "data": data_name, **curves, "first_step_loss": round(first_loss, 5)}


def _environment(device: torch.device, workers: int) -> dict[str, str]:
    if device.type == "cpu":
        runs = "one run at a time" if workers == 1 else f"{workers} runs in parallel"
        where = f"CPU ({platform.processor() or platform.machine()}, {runs})"
    else:
        where = f"{device_description(device)} ({training_precision(device)}, channels_last)"
    return {
        "device": where,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.date.today().isoformat(),
    }


def _write(out: Path, result: dict[str, Any]) -> None:
    """Replace `out` in one step, so that an interrupted run never leaves half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(partial, out)


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
        arms: Names from `ARMS` or `DEPTH_ARMS`.
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
        check_one_of("arm", arm, NETWORKS)
    settings = experiment_settings(**overrides)  # here, before any worker starts
    device = pick_device(verbose=False)
    if device.type != "cpu":
        workers = 1  # one GPU: its runs go one after the other, each using all of it
    result = {"settings": settings, "environment": _environment(device, workers), "runs": []}
    out = Path(out)
    # Seed-major order: if the experiment is stopped early, every arm has the same seeds.
    jobs = [(arm, seed, settings) for seed in range(seeds) for arm in arms]
    # "spawn": a fresh interpreter per worker, with no threads inherited from this one.
    pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else None
    try:
        runs = pool.imap_unordered(_run_job, jobs) if pool is not None else map(_run_job, jobs)
        for run in runs:
            result["runs"].append(run)
            result["runs"].sort(key=lambda r: (list(arms).index(r["arm"]), r["seed"]))
            _write(out, result)
            if "diverged" in run:
                print(f"{run['arm']:>22} seed {run['seed']}: diverged ({run['diverged']})", flush=True)
            else:
                print(
                    f"{run['arm']:>22} seed {run['seed']}: final training error {run['clean_train_error'][-1]:.3f}, "
                    f"validation error {run['val_error'][-1]:.3f}",
                    flush=True,
                )
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return result


def run_controls(
    out: str | os.PathLike = CONTROLS_FILE,
    names: tuple[str, ...] = tuple(CONTROLS),
    seeds: int = 1,
    **overrides: Any,
) -> dict[str, Any]:
    """Run the `CONTROLS`, one after the other, writing `out` after each run.

    Runs already in `out` (same name and seed, same settings) are kept and not run
    again: an interrupted experiment resumes where it stopped. Seed-major order.
    """
    check_path("out", out)
    check_int("seeds", seeds)
    if not isinstance(names, (tuple, list)):
        raise TypeError(f"names must be a tuple of names from CONTROLS, got {names!r}")
    for name in names:
        check_one_of("name", name, CONTROLS)
    base = experiment_settings(**overrides)
    out = Path(out)
    device = pick_device(verbose=False)
    result = {"settings": base, "environment": _environment(device, 1), "controls": {}, "runs": []}
    if out.is_file():
        stored = json.loads(out.read_text())
        if stored.get("settings") == base:  # a resumed experiment keeps its runs and their specs
            result["runs"], result["controls"] = stored["runs"], stored.get("controls", {})
    for seed in range(seeds):
        for name in names:
            # A run stopped part-way ("partial") is run again from its start.
            result["runs"] = [r for r in result["runs"] if not r.get("partial")]
            if any(r["name"] == name and r["seed"] == seed for r in result["runs"]):
                continue
            spec = dict(CONTROLS[name])
            arm, warmup, factor = spec.pop("arm"), spec.pop("warmup", None), spec.pop("steps_factor", 1)
            restart = spec.pop("restart", False)
            settings = {**base, **spec, "steps": base["steps"] * factor}
            start = datetime.datetime.now()
            result["controls"][name] = CONTROLS[name]

            def save_partial(
                curves: dict[str, list], name: str = name, arm: str = arm, seed: int = seed
            ) -> None:
                partial = {"name": name, "arm": arm, "seed": seed, **curves, "partial": True}
                _write(out, {**result, "runs": [*result["runs"], partial]})

            try:
                run = run_arm(
                    arm, seed, settings, warmup=warmup, device=device, on_epoch=save_partial, restart=restart
                )
            except FloatingPointError as e:
                run = {"arm": arm, "seed": seed, "diverged": str(e)}
            run = {"name": name, **run, "seconds": (datetime.datetime.now() - start).seconds}
            result["controls"][name] = CONTROLS[name]
            result["runs"].append(run)
            _write(out, result)
            last = run.get("clean_train_error", [float("nan")])[-1]
            print(f"{name:>20} seed {seed}: clean training error {last:.3f}", flush=True)
    for run in result["runs"]:
        result["controls"][run["name"]] = CONTROLS.get(run["name"], {})
    _write(out, result)
    return result


def _conv_norms(model: nn.Module) -> tuple[list[float], list[float]]:
    """|w| and |grad w| of every conv, in the order of the forward pass."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    weights = torch.stack([c.weight.detach().norm() for c in convs]).tolist()
    grads = torch.stack([c.weight.grad.norm() for c in convs]).tolist()
    return weights, grads


def _measure_arm(arm: str, seed: int, steps: int) -> dict[str, list]:
    """One arm's conv weight and gradient norms, and its loss, over its first `steps` steps."""
    _prepare(torch.device("cpu"), seed)
    train_loader, _, _, _ = _loaders(SETTINGS, seed)
    model = cifar_resnet(**ARMS[arm])
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=SETTINGS["lr"],
        momentum=SETTINGS["momentum"],
        weight_decay=SETTINGS["weight_decay"],
    )
    record: dict[str, list] = {"weight_norm": [], "grad_norm": [], "loss": []}
    model.train()
    step = 0
    while step < steps:
        for images, labels in train_loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            weights, grads = _conv_norms(model)  # before the step: the gradient it uses
            record["weight_norm"].append([round(w, 5) for w in weights])
            record["grad_norm"].append([float(f"{g:.5g}") for g in grads])
            record["loss"].append(round(loss.item(), 5))
            optimizer.step()
            step += 1
            if step == steps:
                break
    return record


def measure_mechanism(
    out: str | os.PathLike = MECHANISM_FILE,
    arms: tuple[str, ...] = ("plain-20", "plain-56", "ResNet-56"),
    steps: int = 100,
    seeds: int = 3,
) -> dict[str, Any]:
    """Every 3x3 conv's weight norm and gradient norm over the first `steps` steps, per seed.

    The stored recipe (`SETTINGS`, its lr, momentum and weight decay), on the CPU in
    float32. Each conv is followed by BatchNorm, so scaling its weight changes nothing
    downstream: only its direction matters, and a step of size lr * |grad w| turns it by
    about lr * |grad w| / |w|, while |grad w| itself shrinks as 1 / |w|. The effective
    step is therefore lr / |w|**2 (times a gradient that does not depend on |w|).

    Seeds already in `out` (same arms, steps and settings) are kept, not measured again.
    Their digits depend on the CPU (rounding grows through the deep stacks), so each run
    records its environment (the stored seed 0 was measured before runs did: None).
    """
    check_path("out", out)
    check_int("steps", steps)
    check_int("seeds", seeds)
    for arm in arms:
        check_one_of("arm", arm, ARMS)
    out = Path(out)
    result: dict[str, Any] = {"settings": SETTINGS, "steps": steps, "runs": []}
    if out.is_file():
        stored = json.loads(out.read_text())
        if (stored.get("settings"), stored.get("steps")) == (SETTINGS, steps):
            result["runs"] = [r for r in stored.get("runs", []) if list(r["arms"]) == list(arms)]
    for seed in range(seeds):
        if any(r["seed"] == seed for r in result["runs"]):
            continue
        run: dict[str, Any] = {"seed": seed, "environment": _environment(torch.device("cpu"), 1), "arms": {}}
        for arm in arms:
            run["arms"][arm] = _measure_arm(arm, seed, steps)
            print(f"seed {seed}, {arm}: {steps} steps measured", flush=True)
        result["runs"] = sorted([*result["runs"], run], key=lambda r: r["seed"])
        _write(out, result)
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


def final_values(result: dict[str, Any], arm: str, key: str = "clean_train_error") -> list[float]:
    """One number per seed: `key` (e.g. ``"clean_train_error"``, ``"val_error"``) at the end of `arm`'s runs.

    Diverged runs count as an error of 1 (a loss of infinity), so that they cannot look good.
    """
    check_one_of("arm", arm, NETWORKS)
    keys = ("clean_train_error", "clean_train_loss", "train_error", "train_loss", "val_error", "val_loss")
    check_one_of("key", key, keys)
    if not (isinstance(result, dict) and isinstance(result.get("runs"), list)):
        raise TypeError("result must be what load_degradation or run_experiment returns (a dict with 'runs')")
    runs = sorted((r for r in result["runs"] if r["arm"] == arm), key=lambda r: r["seed"])
    if not runs:
        raise ValueError(
            f"the results hold no run of {arm!r}; they have {sorted({r['arm'] for r in result['runs']})}"
        )
    worst = 1.0 if key.endswith("error") else float("inf")
    return [worst if "diverged" in r else r[key][-1] for r in runs]
