"""A short, readable training loop that runs on any device.

`train` is the recipe of the paper (He et al. 2015, arXiv:1512.03385, Sec. 3.4 and
4.2): SGD with momentum 0.9 and weight decay 1e-4, and a learning rate that
falls during training. On CUDA it uses mixed precision (autocast + gradient
scaling); on a CPU or MPS it runs in float32, so CPU results are repeatable.

It returns a history of plain Python floats (per-step training loss, per-epoch
losses and accuracies) that the notebooks plot and print.

Long runs are saved and resumed with checkpoints (`save_checkpoint`,
`load_checkpoint`, and train's `checkpoint=` / `resume_from=`): a resumed run
continues exactly where the saved one stopped. The same loop runs under
DistributedDataParallel (`setup_distributed`; see resnet_lib/train_cifar.py, started
with torchrun): one process per device, gradients averaged across processes.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from ._validation import check_int, check_number, check_one_of
from .inspection import in_mode

__all__ = [
    "AugmentedDataset",
    "cleanup_distributed",
    "evaluate",
    "is_main_process",
    "load_checkpoint",
    "lr_at",
    "save_checkpoint",
    "setup_distributed",
    "train",
]

SCHEDULES = ("cosine", "step", "constant")


def lr_at(step: int, total_steps: int, lr: float, schedule: str = "cosine", warmup_steps: int = 0) -> float:
    """The learning rate at `step` (0-based) of a run of `total_steps` steps.

    - ``"cosine"``: from `lr` down to 0 along half a cosine.
    - ``"step"``: `lr`, divided by 10 after 50 % and again after 75 % of the steps
      (the paper's CIFAR schedule: 32k and 48k of 64k iterations).
    - ``"constant"``: `lr` throughout.

    During the first `warmup_steps` steps the rate rises linearly to the schedule's.
    """
    check_int("step", step, minimum=0)
    check_int("total_steps", total_steps)
    check_number("lr", lr, strict=True)
    check_int("warmup_steps", warmup_steps, minimum=0)
    if schedule == "cosine":
        rate = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
    elif schedule == "step":
        rate = lr * 0.1 ** ((step >= total_steps // 2) + (step >= total_steps * 3 // 4))
    elif schedule == "constant":
        rate = lr
    else:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if step < warmup_steps:
        rate *= (step + 1) / warmup_steps
    return rate


def _autocast(device: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """float16 autocast on CUDA; nothing elsewhere (CPU runs stay in float32, repeatable)."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def _to(batch: Iterable[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    return [t.to(device, non_blocking=True) for t in batch]


def _check_outputs(logits: torch.Tensor, labels: torch.Tensor) -> None:
    """Turn the usual shape mistakes into a readable error before cross_entropy does."""
    if logits.dim() != 2:
        raise ValueError(f"the model must output (batch, classes) logits, got shape {tuple(logits.shape)}")
    if labels.dtype != torch.long or labels.dim() != 1:
        raise ValueError(
            f"labels must be a 1-D tensor of class indices (int64), got {labels.dtype} {tuple(labels.shape)}"
        )
    if int(labels.min()) < 0:
        raise ValueError(f"labels must be class indices 0..{logits.shape[1] - 1}, got {int(labels.min())}")
    if int(labels.max()) >= logits.shape[1]:
        raise ValueError(
            f"a label is {int(labels.max())} but the model has only {logits.shape[1]} outputs "
            f"(classes 0..{logits.shape[1] - 1}): check num_classes"
        )


def _device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """`device` as a torch.device, or where the model's parameters are; clear errors for both."""
    if device is None:
        first = next(model.parameters(), None)
        if first is None:
            raise ValueError(f"{type(model).__name__} has no parameters: pass device= to say where to run it")
        return first.device
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {device!r} ({type(device).__name__})")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be e.g. 'cpu', 'cuda', 'cuda:1' or 'mps', got {device!r}") from None


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: DataLoader, device: torch.device | str | None = None, amp: bool = True
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (0..1) of `model` over `loader`, in eval mode.

    ``amp=False`` keeps CUDA in float32 (elsewhere nothing changes: see `_autocast`).
    """
    check_one_of("amp", amp, (True, False))
    device = _device(model, device)
    total_loss, correct, count = 0.0, 0, 0
    with in_mode(model, training=False):
        for images, labels in loader:
            images, labels = _to((images, labels), device)
            with _autocast(device, amp):
                logits = model(images)
            total_loss += F.cross_entropy(logits.float(), labels, reduction="sum").item()
            correct += (logits.argmax(1) == labels).sum().item()
            count += len(labels)
    if count == 0:
        raise ValueError("the evaluation loader yields no batches")
    return total_loss / count, correct / count


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel (or DataParallel) wrapper; else the model."""
    return getattr(model, "module", model)


def is_main_process() -> bool:
    """True in the process that prints and saves: rank 0, or the only process."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def _rank_and_world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _rng_states() -> list[torch.Tensor]:
    """The CPU generator state of every process, in rank order (a collective under DDP).

    Each rank draws its own random crops, so a checkpoint must hold each rank's state
    for the resumed run to draw what the uninterrupted one would have.
    """
    import torch.distributed as dist

    state = torch.get_rng_state()
    rank, world_size = _rank_and_world()
    if world_size == 1:
        return [state]
    states: list[torch.Tensor | None] = [None] * world_size
    dist.all_gather_object(states, state)  # works with gloo and NCCL alike
    return states


def setup_distributed(verbose: bool = False) -> tuple[int, int, torch.device]:
    """Join the process group that torchrun set up; return ``(rank, world_size, device)``.

    torchrun starts one process per device and tells each its ``RANK``, ``LOCAL_RANK``
    and ``WORLD_SIZE`` through environment variables. Each process then uses its own
    GPU (backend NCCL) or, without GPUs, the CPU (backend gloo). Started without
    torchrun, this is a single process: rank 0 of 1, on the best device.
    """
    import torch.distributed as dist

    from .device import pick_device

    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return 0, 1, pick_device(verbose=verbose)
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        device = torch.device("cpu")
        dist.init_process_group("gloo")
    return rank, world_size, device


def cleanup_distributed() -> None:
    """Leave the process group (if there is one)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        # No barrier here: after an error the other ranks may never reach it. A finished
        # run synchronises and leaves on its own (see resnet_lib/train_cifar.py).
        dist.destroy_process_group()


class AugmentedDataset(Dataset):
    """The paper's augmentation for tensor images: pad, random crop back, random flip.

    Works on any dataset of ``(image tensor (C, H, W), label)``: CIFAR-10 and the
    generated set take the same path. Padding is with zeros, i.e. with the mean
    colour of normalised images. The randomness comes from PyTorch's global generator,
    so a seeded run (``num_workers=0``) sees the same crops every time.

    Args:
        dataset: The images to augment (validation sets stay unaugmented).
        padding: Pixels added on every side before cropping (4 at 32x32 in the paper).
        flip: Also flip horizontally with probability 1/2.
    """

    def __init__(self, dataset: Dataset, padding: int = 4, flip: bool = True) -> None:
        check_int("padding", padding, minimum=0)
        self.dataset, self.padding, self.flip = dataset, padding, flip

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        image, label = self.dataset[index]
        p = self.padding
        if p:
            h, w = image.shape[-2:]
            padded = F.pad(image, (p, p, p, p))
            top, left = torch.randint(0, 2 * p + 1, (2,)).tolist()
            image = padded[..., top : top + h, left : left + w]
        if self.flip and torch.rand(()) < 0.5:
            image = image.flip(-1)
        return image, label


# ---------------------------------------------------------------- checkpoints

CHECKPOINT_FORMAT = 1


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    **state: Any,
) -> Path:
    """Save the model's weights, the optimizer's state and anything else, in one file.

    Only tensors and plain Python values are stored (no pickled classes), so the file
    loads with ``torch.load(path, weights_only=True)``. The file is written next to
    its final name and then renamed: a run killed while saving leaves the previous
    checkpoint intact. A DistributedDataParallel wrapper is taken off first.

    Args:
        path: Where to write (folders are created).
        model: Its ``state_dict()`` is saved under ``"model"``.
        optimizer: Its ``state_dict()`` (momentum buffers, ...) under ``"optimizer"``.
        **state: More entries, e.g. ``step=...``, ``history=...``.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {"format": CHECKPOINT_FORMAT, "model": unwrap(model).state_dict(), **state}
    if optimizer is not None:
        checkpoint["optimizer"] = optimizer.state_dict()
    partial = path.with_name(path.name + ".partial")
    torch.save(checkpoint, partial)
    os.replace(partial, path)
    return path


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: torch.device | str | None = "cpu",
) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`; load it into `model` and `optimizer`.

    ``weights_only=True``: unpickling an arbitrary file can run arbitrary code, so only
    tensors and plain containers are accepted. The model's weights must match exactly
    (``strict=True``): a missing or unexpected key is an error, not a silent partial load.

    Returns:
        The whole checkpoint (a dict), e.g. ``["step"]`` and ``["history"]``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError) as e:
        # A truncated or corrupted file, or one holding more than tensors and plain values.
        raise ValueError(
            f"{str(path)!r} cannot be read as a checkpoint ({type(e).__name__}: {str(e).splitlines()[0]}): "
            "it is truncated or corrupted, or was not written by save_checkpoint"
        ) from e
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise ValueError(f"{str(path)!r} is not a checkpoint of save_checkpoint (no 'model' entry)")
    if model is not None:
        unwrap(model).load_state_dict(checkpoint["model"], strict=True)
    if optimizer is not None:
        if "optimizer" not in checkpoint:
            raise ValueError(f"{str(path)!r} holds no optimizer state")
        optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint


# ---------------------------------------------------------------- training


def train(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    epochs: int = 1,
    lr: float = 0.1,
    *,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
    schedule: str = "cosine",
    warmup_steps: int = 0,
    max_steps: int | None = None,
    device: torch.device | str | None = None,
    amp: bool = True,
    progress: bool = True,
    desc: str = "training",
    stop_at_step: int | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume_from: str | os.PathLike | dict | None = None,
    on_epoch_end: Callable[[int, dict[str, list[float]]], None] | None = None,
) -> dict[str, list[float]]:
    """Train `model` for classification with SGD + momentum; return its history.

    Args:
        model: Outputs (batch, classes) logits. Moved to `device`. May be wrapped in
            DistributedDataParallel (then gradients are averaged across processes).
        train_loader: Yields ``(images, labels)``. If its sampler has ``set_epoch``
            (a DistributedSampler), it is called every epoch.
        val_loader: Evaluated after every epoch (None: skip).
        epochs: Passes over `train_loader`.
        lr: Peak learning rate (0.1 in the paper, for batches of 128).
        momentum, weight_decay: SGD's, as in the paper.
        schedule: ``"cosine"``, ``"step"`` or ``"constant"``, stepped every batch (see `lr_at`).
        warmup_steps: Steps of linear warm-up (the paper warms ResNet-110 up at 0.01).
        max_steps: Stop after this many steps in all (the schedule is fitted to them);
            None: ``epochs * len(train_loader)``.
        device: Where to train; None: where the model's parameters are.
        amp: Use mixed precision (float16 autocast with gradient scaling) on CUDA.
        progress: Show a progress bar (`tqdm.auto`; it closes when done).
        desc: Label of the progress bar.
        stop_at_step: Stop after this step, as if interrupted (the schedule is still
            the whole run's); resume later with `resume_from`.
        checkpoint: Save a checkpoint here (see `save_checkpoint`) after every epoch
            and when training stops; only in the main process under DDP.
        resume_from: A checkpoint (path or loaded dict) written by `checkpoint=`:
            continue that run, with the same loaders and arguments. The batches
            already trained on are read again, without training, so the run sees the
            same batches, in the same order, as if it had never stopped.
        on_epoch_end: Called as ``on_epoch_end(epoch, history)`` after every full epoch.

    Returns:
        ``{"step_loss": [...], "lr": [...]}`` with one entry per step, and
        ``"train_loss"``, ``"train_acc"``, ``"val_loss"``, ``"val_acc"`` with one
        per epoch (training figures are averages over the epoch's batches, in train
        mode; the val lists stay empty without a val_loader). A resumed run returns
        the whole run's history, the saved part included.
    """
    check_int("epochs", epochs)
    check_number("lr", lr, strict=True)
    check_number("momentum", momentum)
    check_number("weight_decay", weight_decay)
    check_one_of("schedule", schedule, SCHEDULES)
    check_int("warmup_steps", warmup_steps, minimum=0)
    if max_steps is not None:
        check_int("max_steps", max_steps)
    check_one_of("amp", amp, (True, False))
    steps_per_epoch = len(train_loader)
    if steps_per_epoch == 0:
        raise ValueError(
            "train_loader yields no batches: the dataset is smaller than one batch (with drop_last=True)"
        )
    total_steps = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    if stop_at_step is not None and not 1 <= stop_at_step <= total_steps:
        raise ValueError(
            f"stop_at_step must be between 1 and {total_steps} (the run's steps), got {stop_at_step!r}"
        )
    device = _device(model, device)
    model.to(device)
    use_amp = amp and device.type == "cuda"

    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    # Scales float16 losses so that their gradients do not underflow.
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history: dict[str, list[float]] = {
        k: [] for k in ("step_loss", "lr", "train_loss", "train_acc", "val_loss", "val_acc")
    }
    run = {
        "schedule": schedule,
        "lr": lr,
        "warmup_steps": warmup_steps,
        "total_steps": total_steps,
        "steps_per_epoch": steps_per_epoch,
    }
    step, skip, rng_state, epoch_sums = 0, 0, None, [0.0, 0, 0]
    if resume_from is not None:
        saved = (
            resume_from if isinstance(resume_from, dict) else load_checkpoint(resume_from, map_location="cpu")
        )
        if saved.get("run") != run:
            raise ValueError(
                f"the checkpoint was saved by a run with {saved.get('run')}, this one has {run}: "
                "resume with the same loader, epochs, max_steps, lr and schedule"
            )
        unwrap(model).load_state_dict(saved["model"], strict=True)
        optimizer.load_state_dict(saved["optimizer"])
        if use_amp and saved["scaler"]:  # a CPU (or float32) run saved an empty scaler: start afresh
            scaler.load_state_dict(saved["scaler"])
        step = skip = saved["step"]
        history = {k: list(v) for k, v in saved["history"].items()}
        epoch_sums, rng_state = list(saved["epoch_sums"]), saved["rng_state"]
        if isinstance(rng_state, list):  # one state per rank
            rank, world_size = _rank_and_world()
            if len(rng_state) != world_size:
                raise ValueError(
                    f"the checkpoint was saved by {len(rng_state)} process(es), this run has {world_size}: "
                    "resume with as many processes"
                )
            rng_state = rng_state[rank]
    main = is_main_process()

    def save(epoch_sums: list) -> None:
        if checkpoint is None:
            return
        rng_states = _rng_states()  # every rank takes part; rank 0 writes
        if main:
            save_checkpoint(
                checkpoint,
                model,
                optimizer,
                scaler=scaler.state_dict(),
                run=run,
                step=step,
                history=history,
                epoch_sums=epoch_sums,
                rng_state=rng_states,
            )

    from tqdm.auto import tqdm

    bar = tqdm(total=total_steps, initial=step, desc=desc, leave=False, disable=not progress)
    try:
        for epoch in range(epochs):
            if step == total_steps:
                break
            if hasattr(train_loader.sampler, "set_epoch"):
                train_loader.sampler.set_epoch(epoch)  # DDP: a different shuffle every epoch
            model.train()
            batches = 0
            loss_sum, correct, seen = 0.0, 0, 0
            for images, labels in train_loader:
                batches += 1
                if skip:  # resuming: this batch was trained on before the checkpoint
                    skip -= 1
                    if skip == 0:  # the next batch is new: continue as the saved run would have
                        loss_sum, correct, seen = epoch_sums if batches < steps_per_epoch else (0.0, 0, 0)
                        torch.set_rng_state(rng_state)
                    continue
                images, labels = _to((images, labels), device)
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, total_steps, lr, schedule, warmup_steps)
                with _autocast(device, use_amp):
                    logits = model(images)
                if step == 0:
                    _check_outputs(logits, labels)
                loss = F.cross_entropy(logits.float(), labels)
                value = loss.item()  # one wait for the GPU per step, not one per use
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the loss is {value} at step {step}: try a smaller lr or a warm-up"
                    )

                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()

                history["step_loss"].append(value)
                history["lr"].append(optimizer.param_groups[0]["lr"])
                loss_sum += value * len(labels)
                correct += (logits.argmax(1) == labels).sum().item()
                seen += len(labels)
                step += 1
                bar.update()
                bar.set_postfix(loss=f"{value:.3f}", refresh=False)
                if step in (total_steps, stop_at_step):
                    break  # before the loader draws another batch (and random crops)
            if skip:  # the whole epoch was replayed
                continue
            if seen and (batches == steps_per_epoch or step == total_steps):
                history["train_loss"].append(loss_sum / seen)
                history["train_acc"].append(correct / seen)
                if val_loader is not None:
                    val_loss, val_acc = evaluate(unwrap(model), val_loader, device, amp)
                    history["val_loss"].append(val_loss)
                    history["val_acc"].append(val_acc)
                save([0.0, 0, 0])
                if on_epoch_end is not None:
                    on_epoch_end(epoch, history)
            elif step == stop_at_step:
                save([loss_sum, correct, seen])
            if step in (total_steps, stop_at_step):
                break
    finally:
        bar.close()
    return history
