"""The training loop: the paper's recipe (He et al. 2015, Sec. 3.4 and 4.2) on any device.

SGD with momentum 0.9 and weight decay 1e-4, the learning rate set every step
(`schedule.lr_at`), mixed precision on a GPU (`precision.py`), float32 on a CPU (repeatable).
`train` returns a history of floats: ``step_loss`` and ``lr`` per step; ``train_loss``,
``train_acc``, ``val_loss``, ``val_acc`` per epoch. The losses stay on the device and are
read once per epoch and when the progress bar redraws (a read makes the CPU wait for the GPU).
`max_steps` ends a run early (the schedule fits it); `stop_at_step` stops it as if interrupted.
`checkpoint=`/`resume_from=` save and resume it exactly (`tools.checkpoint.RunCheckpoints`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from resnet_lib.device import model_device
from resnet_lib.inspection import in_mode
from resnet_lib.precision import autocast, grad_scaler, training_precision
from resnet_lib.schedule import SCHEDULES, lr_at
from resnet_lib.tools import validate as v
from resnet_lib.tools.checkpoint import RunCheckpoints, unwrap

__all__ = ["EpochSums", "evaluate", "train"]


def _check_outputs(logits: torch.Tensor, labels: torch.Tensor) -> None:
    """The usual mistakes, named at the first batch before cross_entropy fails on them."""
    if logits.dim() != 2 or labels.dtype != torch.long or labels.dim() != 1:
        shapes = f"got logits {tuple(logits.shape)}, labels {labels.dtype} {tuple(labels.shape)}"
        raise ValueError(f"the model must output (batch, classes) logits for int64 labels (batch,): {shapes}")
    low, high, classes = int(labels.min()), int(labels.max()), logits.shape[1]
    if low < 0 or high >= classes:  # a label of a class the model has no output for
        raise ValueError(
            f"labels must be class indices 0..{classes - 1}, got {low}..{high}: check num_classes"
        )


def _check_loader(name: str, loader: object) -> None:
    if not isinstance(loader, DataLoader):
        raise TypeError(f"{name} must be a torch DataLoader, got {loader!r} ({type(loader).__name__})")


def _placement(model: nn.Module, device: torch.device | str | None, amp: bool) -> tuple[torch.device, str]:
    """Where to run `model` (None: where it is) and in which precision (`training_precision`)."""
    v.check_module("model", model)
    device = model_device(model) if device is None else v.check_device("device", device)
    v.check_bool("amp", amp)
    return device, training_precision(device, amp)


def _total_steps(loader: DataLoader, epochs: int, max_steps: int | None, stop_at_step: int | None) -> int:
    """The run's steps: `epochs` passes over `loader`, or `max_steps` if fewer."""
    _check_loader("train_loader", loader)
    v.check_int("epochs", epochs)
    for name, value in (("max_steps", max_steps), ("stop_at_step", stop_at_step)):
        if value is not None:
            v.check_int(name, value)
    if len(loader) == 0:
        raise ValueError(
            "train_loader yields no batches: the dataset is smaller than one batch (drop_last=True)"
        )
    total = epochs * len(loader) if max_steps is None else min(max_steps, epochs * len(loader))
    if stop_at_step is not None and stop_at_step > total:
        raise ValueError(f"stop_at_step must be at most {total} (the run's steps), got {stop_at_step}")
    return total


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: DataLoader, device: torch.device | str | None = None, amp: bool = True
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (0..1) of `model` over `loader`, in eval mode,
    in `train`'s precision (``amp=False`` keeps a GPU in float32)."""
    device, precision = _placement(model, device, amp)
    _check_loader("loader", loader)
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
    total_loss = sum(torch.stack(loss_sums).tolist())  # one read; added up in float64, batch by batch
    return total_loss / count, int(correct) / count


class EpochSums:
    """The loss and accuracy of the epoch so far, kept on the device until `read`."""

    def __init__(self, loss_sum: float = 0.0, correct: int = 0, seen: int = 0) -> None:
        self.loss_sum, self.correct, self.seen = loss_sum, correct, seen
        self.losses: list[torch.Tensor] = []  # not read yet, one per step
        self.sizes: list[int] = []

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.losses.append(loss.detach())
        self.sizes.append(len(labels))
        self.correct = self.correct + (logits.argmax(1) == labels).sum()
        self.seen += len(labels)

    def read(self, history: dict[str, list[float]]) -> None:
        """Append the step losses added since the last read to `history` (one wait for the device)."""
        values = torch.stack(self.losses).tolist() if self.losses else []
        for value, size in zip(values, self.sizes):
            if not math.isfinite(value):
                at = len(history["step_loss"])
                raise FloatingPointError(f"the loss is {value} at step {at}: try a smaller lr or a warm-up")
            self.loss_sum += value * size  # in float64, step by step
            history["step_loss"].append(value)
        self.losses, self.sizes = [], []

    def end_epoch(self, history: dict[str, list[float]], val: tuple[float, ...] = ()) -> None:
        """Append the epoch's training loss and accuracy (after `read`) and `val`'s to `history`."""
        values = (self.loss_sum / self.seen, int(self.correct) / self.seen, *val)
        for key, value in zip(("train_loss", "train_acc", "val_loss", "val_acc"), values):
            history[key].append(value)

    def state(self) -> list[float | int]:
        """``[loss_sum, correct, seen]`` for a checkpoint (after `read`)."""
        return [self.loss_sum, int(self.correct), self.seen]


def train(
    model: nn.Module, train_loader: DataLoader, val_loader: DataLoader | None = None,
    epochs: int = 1, lr: float = 0.1, *, momentum: float = 0.9, weight_decay: float = 1e-4,
    schedule: str = "cosine", warmup_steps: int = 0, max_steps: int | None = None,
    device: torch.device | str | None = None, amp: bool = True, progress: bool = True,
    desc: str = "training", stop_at_step: int | None = None,
    checkpoint: str | os.PathLike | None = None, resume_from: str | os.PathLike | dict | None = None,
    on_epoch_end: Callable[[int, dict[str, list[float]]], None] | None = None,
) -> dict[str, list[float]]:  # fmt: skip
    """Train `model` with SGD + momentum; return its history (see the module's docstring)."""
    # Every argument is checked here, once, before anything runs.
    device, precision = _placement(model, device, amp)
    total_steps = _total_steps(train_loader, epochs, max_steps, stop_at_step)
    if val_loader is not None:
        _check_loader("val_loader", val_loader)
    for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
        v.check_number(name, value, strict=name == "lr")
    v.check_one_of("schedule", schedule, SCHEDULES)
    v.check_int("warmup_steps", warmup_steps, minimum=0)
    v.check_bool("progress", progress)
    if not (on_epoch_end is None or callable(on_epoch_end)):
        raise TypeError(f"on_epoch_end must be a function or None, got {on_epoch_end!r}")
    signature = dict(schedule=schedule, lr=lr, warmup_steps=warmup_steps, total_steps=total_steps)
    signature.update(device=device.type, precision=precision)  # what a resumed run must match
    runs = RunCheckpoints(checkpoint, resume_from, train_loader, **signature)  # checks both paths
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    scaler = grad_scaler(device, precision)  # on for fp16 only; a disabled scaler changes nothing
    step, first_epoch, history, saved_sums = runs.start(model, optimizer, scaler)
    sums, first_step = EpochSums(*saved_sums), step
    with tqdm(total=total_steps, initial=step, desc=desc, leave=False, disable=not progress) as bar:
        for epoch in range(first_epoch, epochs):
            if step == total_steps:  # resumed from the run's last checkpoint: nothing left
                break
            if hasattr(train_loader.sampler, "set_epoch"):
                train_loader.sampler.set_epoch(epoch)  # DDP: a different shuffle every epoch
            model.train()
            for images, labels in runs.batches():  # resumed: the rest of the saved epoch
                images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
                optimizer.param_groups[0]["lr"] = lr_at(step, total_steps, lr, schedule, warmup_steps)
                with autocast(device, precision):
                    logits = model(images)
                if step == first_step:
                    _check_outputs(logits, labels)
                loss = F.cross_entropy(logits.float(), labels)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()  # fp16: scaled up, so that small gradients do not underflow
                scaler.step(optimizer)
                scaler.update()
                sums.add(loss, logits, labels)
                history["lr"].append(optimizer.param_groups[0]["lr"])
                step += 1
                if bar.update():  # the bar has just redrawn: a good moment to read the loss
                    sums.read(history)
                    bar.set_postfix(loss=f"{history['step_loss'][-1]:.3f}")
                if step in (total_steps, stop_at_step):
                    break  # before the loader draws another batch (and random crops)
            sums.read(history)
            complete = sums.seen and (step % len(train_loader) == 0 or step == total_steps)
            if complete:
                val = evaluate(unwrap(model), val_loader, device, amp) if val_loader is not None else ()
                sums.end_epoch(history, val)
                sums = EpochSums()
            if complete or step == stop_at_step:  # mid-epoch, the running sums are saved too
                runs.save(model, optimizer, scaler, step=step, history=history, epoch_sums=sums.state())
            if complete and on_epoch_end is not None:
                on_epoch_end(epoch, history)
            if step in (total_steps, stop_at_step):
                break
    return history
