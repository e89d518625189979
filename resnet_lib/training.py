"""A short, readable training loop that runs on any device.

`train` is the recipe of the paper (He et al. 2015, arXiv:1512.03385, Sec. 3.4 and
4.2): SGD with momentum 0.9 and weight decay 1e-4, and a learning rate that falls
during training. On a GPU it uses mixed precision (`precision.py`: bf16 where the
GPU runs it natively, else fp16 with a loss scaler); a CPU trains in float32, so
CPU results are repeatable.

It returns a history of plain Python floats (per-step training loss, per-epoch
losses and accuracies) that the notebooks plot and print. The loop does not wait
for the GPU at every step to read the loss: the losses stay on the device and are
read once per epoch, and when the progress bar redraws.

Long runs are saved and resumed with checkpoints (`checkpoint.py`, train's
``checkpoint=`` and ``resume_from=``): a resumed run continues exactly where the
saved one stopped. The same loop runs under DistributedDataParallel (see
resnet_lib/tools/train_cifar.py, started with torchrun): one process per device,
gradients averaged across processes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from resnet_lib.inspection import in_mode
from resnet_lib.precision import autocast, grad_scaler, training_precision
from resnet_lib.schedule import SCHEDULES, lr_at
from resnet_lib.tools.checkpoint import (
    _rank_and_world,
    resume_run,
    save_run,
    unwrap,
)
from resnet_lib.tools.sampler import resumable_sampler
from resnet_lib.tools.validate import check_device, check_int, check_number, check_one_of

__all__ = ["evaluate", "is_main_process", "train"]


def _check_outputs(logits: torch.Tensor, labels: torch.Tensor) -> None:
    """Turn the usual shape mistakes into a readable error before cross_entropy does."""
    if logits.dim() != 2:
        raise ValueError(f"the model must output (batch, classes) logits, got shape {tuple(logits.shape)}")
    if labels.dtype != torch.long or labels.dim() != 1:
        raise ValueError(
            f"labels must be a 1-D tensor of class indices (int64), got {labels.dtype} {tuple(labels.shape)}"
        )
    low, high, classes = int(labels.min()), int(labels.max()), logits.shape[1]
    if low < 0:
        raise ValueError(f"labels must be class indices 0..{classes - 1}, got {low}")
    if high >= classes:
        raise ValueError(
            f"a label is {high} but the model has only {classes} outputs "
            f"(classes 0..{classes - 1}): check num_classes"
        )


def _device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """`device` as a torch.device, or where the model's parameters are; clear errors for both."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {model!r} ({type(model).__name__})")
    if device is not None:
        return check_device("device", device)
    first = next(model.parameters(), None)
    if first is None:
        raise ValueError(f"{type(model).__name__} has no parameters: pass device= to say where to run it")
    return first.device


def _check_loader(name: str, loader: object) -> None:
    if not isinstance(loader, DataLoader):
        raise TypeError(f"{name} must be a torch DataLoader, got {loader!r} ({type(loader).__name__})")


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: DataLoader, device: torch.device | str | None = None, amp: bool = True
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (0..1) of `model` over `loader`, in eval mode.

    Mixed precision as in `train` (`precision.training_precision`); ``amp=False``
    keeps a GPU in float32.
    """
    check_one_of("amp", amp, (True, False))
    _check_loader("loader", loader)
    device = _device(model, device)
    precision = training_precision(device, amp)
    loss_sums, correct, count = [], 0, 0
    with in_mode(model, training=False):
        for images, labels in loader:
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            with autocast(device, precision):
                logits = model(images)
            if count == 0:
                _check_outputs(logits, labels)
            loss_sums.append(F.cross_entropy(logits.float(), labels, reduction="sum"))
            correct = correct + (logits.argmax(1) == labels).sum()  # stays on the device
            count += len(labels)
    if count == 0:
        raise ValueError("the evaluation loader yields no batches")
    total_loss = 0.0
    for value in torch.stack(loss_sums).tolist():  # read once; added up in float64, batch by batch
        total_loss += value
    return total_loss / count, int(correct) / count


def is_main_process() -> bool:
    """True in the process that prints and saves: rank 0, or the only process."""
    return _rank_and_world()[0] == 0


# ---------------------------------------------------------------- training


class _EpochSums:
    """The loss and accuracy of the epoch so far, kept on the device until `read`.

    Reading a number from a GPU (``.item()``) makes the CPU wait until the GPU has
    caught up, and a wait at every step leaves the GPU idle while the CPU prepares
    the next one. So the step losses are collected as tensors and read together.
    """

    def __init__(self, loss_sum: float = 0.0, correct: int = 0, seen: int = 0) -> None:
        self.loss_sum, self.correct, self.seen = loss_sum, correct, seen
        self.losses: list[torch.Tensor] = []  # not read yet, one per step
        self.sizes: list[int] = []

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.losses.append(loss.detach())
        self.sizes.append(len(labels))
        self.correct = self.correct + (logits.argmax(1) == labels).sum()
        self.seen += len(labels)

    def read(self) -> list[float]:
        """The step losses added since the last read (one wait for the device)."""
        values = torch.stack(self.losses).tolist() if self.losses else []
        for value, size in zip(values, self.sizes):
            self.loss_sum += value * size  # in float64, step by step
        self.losses, self.sizes = [], []
        return values

    def state(self) -> list[float | int]:
        """``[loss_sum, correct, seen]`` for a checkpoint (after `read`)."""
        return [self.loss_sum, int(self.correct), self.seen]


def _check_arguments(
    train_loader: DataLoader,
    val_loader: DataLoader | None,
    epochs: int,
    lr: float,
    momentum: float,
    weight_decay: float,
    schedule: str,
    warmup_steps: int,
    max_steps: int | None,
    amp: bool,
    progress: bool,
    desc: str,
    stop_at_step: int | None,
    checkpoint: str | os.PathLike | None,
    resume_from: str | os.PathLike | dict | None,
    on_epoch_end: Callable | None,
    **rest: Any,  # model and device: `_device` checks them
) -> int:
    """Check `train`'s arguments (see there); return the number of steps of the run."""
    _check_loader("train_loader", train_loader)
    if val_loader is not None:
        _check_loader("val_loader", val_loader)
    check_int("epochs", epochs)
    check_number("lr", lr, strict=True)
    check_number("momentum", momentum)
    check_number("weight_decay", weight_decay)
    check_one_of("schedule", schedule, SCHEDULES)
    check_int("warmup_steps", warmup_steps, minimum=0)
    for name, value in (("amp", amp), ("progress", progress)):
        check_one_of(name, value, (True, False))
    if max_steps is not None:
        check_int("max_steps", max_steps)
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a str (the progress bar's label), got {desc!r}")
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a path (str or Path) or None, got {checkpoint!r}")
    if resume_from is not None and not isinstance(resume_from, (str, os.PathLike, dict)):
        raise TypeError(
            f"resume_from must be a path, a loaded checkpoint (dict) or None, got {resume_from!r}"
        )
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError(f"on_epoch_end must be a function or None, got {on_epoch_end!r}")
    if len(train_loader) == 0:
        raise ValueError(
            "train_loader yields no batches: the dataset is smaller than one batch (drop_last=True)"
        )
    total_steps = (
        epochs * len(train_loader) if max_steps is None else min(max_steps, epochs * len(train_loader))
    )
    if stop_at_step is not None:
        check_int("stop_at_step", stop_at_step)
        if stop_at_step > total_steps:
            raise ValueError(
                f"stop_at_step must be at most {total_steps} (the run's steps), got {stop_at_step}"
            )
    return total_steps


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
        amp: Use mixed precision on a GPU (see `precision.training_precision`).
        progress: Show a progress bar (`tqdm.auto`; it closes when done).
        desc: Label of the progress bar.
        stop_at_step: Stop after this step, as if interrupted (the schedule is still
            the whole run's); resume later with `resume_from`.
        checkpoint: Save a checkpoint here (see `checkpoint.save_run`) after every
            epoch and when training stops; only in the main process under DDP.
            The loader's sampler must be a `sampler.ResumableSampler`
            (`data.make_loaders` makes one).
        resume_from: A checkpoint (path or loaded dict) written by `checkpoint=`:
            continue that run, with the same loaders and arguments. It starts at the
            next batch the saved run would have drawn, without reading the earlier ones.
        on_epoch_end: Called as ``on_epoch_end(epoch, history)`` after every full epoch.

    Returns:
        ``{"step_loss": [...], "lr": [...]}`` with one entry per step, and
        ``"train_loss"``, ``"train_acc"``, ``"val_loss"``, ``"val_acc"`` with one
        per epoch (training figures are averages over the epoch's batches, in train
        mode; the val lists stay empty without a val_loader). A resumed run returns
        the whole run's history, the saved part included.
    """
    total_steps = _check_arguments(**locals())  # all of them, before anything runs
    steps_per_epoch = len(train_loader)
    sampler = resumable_sampler(train_loader) if checkpoint is not None or resume_from is not None else None
    device = _device(model, device)
    model.to(device)
    precision = training_precision(device, amp)

    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    scaler = grad_scaler(device, precision)  # on for fp16 only; a disabled scaler changes nothing
    history: dict[str, list[float]] = {
        k: [] for k in ("step_loss", "lr", "train_loss", "train_acc", "val_loss", "val_acc")
    }
    run = dict(schedule=schedule, lr=lr, warmup_steps=warmup_steps, total_steps=total_steps)
    run.update(steps_per_epoch=steps_per_epoch, device=device.type, precision=precision)
    step, first_epoch, sums, rng_state = 0, 0, _EpochSums(), None
    if resume_from is not None:
        saved = resume_run(resume_from, run, model, optimizer, scaler, sampler, train_loader.batch_size)
        step, rng_state = saved["step"], saved["rng_state"]
        history = {k: list(v) for k, v in saved["history"].items()}  # a copy: `resume_from` stays as it was
        # The epoch of the last saved step: the sampler continues it (at its end, if it was complete).
        first_epoch, sums = (step - 1) // steps_per_epoch, _EpochSums(*saved["epoch_sums"])
    first_step = step

    def read_losses() -> None:  # the steps' losses into the history: a wait for the device
        for value in sums.read():
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"the loss is {value} at step {len(history['step_loss'])}: try a smaller lr or a warm-up"
                )
            history["step_loss"].append(value)

    def save() -> None:
        if checkpoint is not None:
            state = dict(run=run, step=step, history=history, epoch_sums=sums.state())
            save_run(checkpoint, model, optimizer, scaler, sampler, **state)

    from tqdm.auto import tqdm

    bar = tqdm(total=total_steps, initial=step, desc=desc, leave=False, disable=not progress)
    try:
        for epoch in range(first_epoch, epochs):
            if step == total_steps:
                break
            if hasattr(train_loader.sampler, "set_epoch"):
                train_loader.sampler.set_epoch(epoch)  # DDP: a different shuffle every epoch
            model.train()
            batches = iter(train_loader)
            if rng_state is not None:  # resuming: draw the crops the saved run would have drawn next
                torch.set_rng_state(rng_state)
                rng_state = None
            for images, labels in batches:
                images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, total_steps, lr, schedule, warmup_steps)
                with autocast(device, precision):
                    logits = model(images)
                if step == first_step:
                    _check_outputs(logits, labels)
                loss = F.cross_entropy(logits.float(), labels)

                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()  # fp16: the loss scaled up so small gradients do not underflow
                scaler.step(optimizer)
                scaler.update()

                sums.add(loss, logits, labels)
                history["lr"].append(optimizer.param_groups[0]["lr"])
                step += 1
                if bar.update():  # the bar has just redrawn: a good moment to read the loss
                    read_losses()
                    bar.set_postfix(loss=f"{history['step_loss'][-1]:.3f}")
                if step in (total_steps, stop_at_step):
                    break  # before the loader draws another batch (and random crops)
            read_losses()
            if sums.seen and (step % steps_per_epoch == 0 or step == total_steps):  # an epoch is complete
                history["train_loss"].append(sums.loss_sum / sums.seen)
                history["train_acc"].append(int(sums.correct) / sums.seen)
                if val_loader is not None:
                    val_loss, val_acc = evaluate(unwrap(model), val_loader, device, amp)
                    history["val_loss"].append(val_loss)
                    history["val_acc"].append(val_acc)
                sums = _EpochSums()
                save()
                if on_epoch_end is not None:
                    on_epoch_end(epoch, history)
            elif step == stop_at_step:
                save()  # mid-epoch: the running sums go into the checkpoint
            if step in (total_steps, stop_at_step):
                break
    finally:
        bar.close()
    return history
