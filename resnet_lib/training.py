"""A short, readable training loop that runs on any device.

`train` is the recipe of the paper (He et al. 2015, arXiv:1512.03385, Sec. 3.4 and
4.2): SGD with momentum 0.9 and weight decay 1e-4, and a learning rate that
falls during training. On CUDA it uses mixed precision (autocast + gradient
scaling); on a CPU or MPS it runs in float32, so CPU results are repeatable.

It returns a history of plain Python floats (per-step training loss, per-epoch
losses and accuracies) that the notebooks plot and print.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

__all__ = ["evaluate", "lr_at", "train"]

SCHEDULES = ("cosine", "step", "constant")


def lr_at(step: int, total_steps: int, lr: float, schedule: str = "cosine", warmup_steps: int = 0) -> float:
    """The learning rate at `step` (0-based) of a run of `total_steps` steps.

    - ``"cosine"``: from `lr` down to 0 along half a cosine.
    - ``"step"``: `lr`, divided by 10 after 50 % and again after 75 % of the steps
      (the paper's CIFAR schedule: 32k and 48k of 64k iterations).
    - ``"constant"``: `lr` throughout.

    During the first `warmup_steps` steps the rate rises linearly to the schedule's.
    """
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
        raise ValueError(f"labels must be a 1-D tensor of class indices (int64), got {labels.dtype} {tuple(labels.shape)}")
    if int(labels.max()) >= logits.shape[1] or int(labels.min()) < 0:
        raise ValueError(
            f"a label is {int(labels.max())} but the model has only {logits.shape[1]} outputs "
            f"(classes 0..{logits.shape[1] - 1}): check num_classes"
        )


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (0..1) of `model` over `loader`, in eval mode."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    try:
        for images, labels in loader:
            images, labels = _to((images, labels), device)
            with _autocast(device):
                logits = model(images)
            total_loss += F.cross_entropy(logits.float(), labels, reduction="sum").item()
            correct += (logits.argmax(1) == labels).sum().item()
            count += len(labels)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("the evaluation loader yields no batches")
    return total_loss / count, correct / count


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
) -> dict[str, list[float]]:
    """Train `model` for classification with SGD + momentum; return its history.

    Args:
        model: Outputs (batch, classes) logits. Moved to `device`.
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

    Returns:
        ``{"step_loss": [...], "lr": [...]}`` with one entry per step, and
        ``"train_loss"``, ``"train_acc"``, ``"val_loss"``, ``"val_acc"`` with one
        per epoch (training figures are averages over the epoch's batches, in train
        mode; the val lists stay empty without a val_loader).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    steps_per_epoch = len(train_loader)
    if steps_per_epoch == 0:
        raise ValueError(
            "train_loader yields no batches: the dataset is smaller than one batch (with drop_last=True)"
        )
    total_steps = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    use_amp = amp and device.type == "cuda"

    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)  # scales float16 losses so gradients do not underflow
    history: dict[str, list[float]] = {
        k: [] for k in ("step_loss", "lr", "train_loss", "train_acc", "val_loss", "val_acc")
    }

    from tqdm.auto import tqdm

    bar = tqdm(total=total_steps, desc=desc, leave=False, disable=not progress)
    step = 0
    try:
        for epoch in range(epochs):
            if hasattr(train_loader.sampler, "set_epoch"):
                train_loader.sampler.set_epoch(epoch)  # DDP: a different shuffle every epoch
            model.train()
            loss_sum, correct, seen = 0.0, 0, 0
            for images, labels in train_loader:
                if step == total_steps:
                    break
                images, labels = _to((images, labels), device)
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, total_steps, lr, schedule, warmup_steps)
                with _autocast(device, use_amp):
                    logits = model(images)
                if step == 0:
                    _check_outputs(logits, labels)
                loss = F.cross_entropy(logits.float(), labels)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"the loss is {loss.item()} at step {step}: try a smaller lr or a warm-up")

                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()

                history["step_loss"].append(loss.item())
                history["lr"].append(optimizer.param_groups[0]["lr"])
                loss_sum += loss.item() * len(labels)
                correct += (logits.argmax(1) == labels).sum().item()
                seen += len(labels)
                step += 1
                bar.update()
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            if seen:
                history["train_loss"].append(loss_sum / seen)
                history["train_acc"].append(correct / seen)
                if val_loader is not None:
                    val_loss, val_acc = evaluate(model, val_loader, device)
                    history["val_loss"].append(val_loss)
                    history["val_acc"].append(val_acc)
            if step == total_steps:
                break
    finally:
        bar.close()
    return history
