"""Checkpoints: save a training run, and resume it exactly where it stopped.

`save_checkpoint` and `load_checkpoint` store and read a model's weights, an
optimizer's state and plain values, in one file. `save_run` and `resume_run` add
what `train` needs to continue a run as if it had never stopped:

- the step, the history so far and the running sums of the unfinished epoch;
- the loss scaler's state (fp16 only; an fp32 or bf16 run saves an empty one);
- the order of the epoch's batches (`sampler.ResumableSampler`) and the state of
  PyTorch's global random generator, which draws the random crops. Under DDP every
  process draws its own, so the file holds one of each per process;
- the run's signature: the settings that fix its schedule, and its device type and
  precision. A run resumed with other settings would not be the same run, so
  `resume_run` refuses it.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resnet_lib.tools.sampler import ResumableSampler, resumable_sampler
from resnet_lib.tools.validate import check_path

__all__ = [
    "CHECKPOINT_FORMAT",
    "RunCheckpoints",
    "load_checkpoint",
    "load_scaler_state",
    "rank_and_world",
    "resume_run",
    "save_checkpoint",
    "save_run",
    "unwrap",
]

#: What `train`'s history holds: one value per step, then one per epoch.
HISTORY_KEYS = ("step_loss", "lr", "train_loss", "train_acc", "val_loss", "val_acc")

#: The layout of the files: 2 added the sampler state and the device and precision of the run.
CHECKPOINT_FORMAT = 2


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel (or DataParallel) wrapper; else the model."""
    return getattr(model, "module", model)


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
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a Path, got {path!r} ({type(path).__name__})")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
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
    """Read a checkpoint written by `save_checkpoint` into `model` and `optimizer`.

    ``weights_only=True``: unpickling an arbitrary file can run arbitrary code, so only
    tensors and plain containers are accepted. The model's weights must match exactly
    (``strict=True``): a missing or unexpected key is an error, not a partial load.

    Returns:
        The whole checkpoint (a dict), e.g. ``["step"]`` and ``["history"]``.
    """
    # _read uses weights_only=True.
    checkpoint = _read(path, map_location, with_optimizer=optimizer is not None)
    if model is not None:
        unwrap(model).load_state_dict(checkpoint["model"], strict=True)
    if optimizer is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint


def _read(
    path: str | os.PathLike, map_location: torch.device | str | None, with_optimizer: bool = False
) -> dict[str, Any]:
    """`torch.load` of a checkpoint file, with clear errors for a wrong path or a damaged file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a Path, got {path!r} ({type(path).__name__})")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, zipfile.BadZipFile) as e:
        # torch's own message suggests weights_only=False, which is wrong here (the file is
        # damaged) and unsafe: it stays in the chained exception, not in this message.
        raise ValueError(
            f"{str(path)!r} cannot be read as a checkpoint ({type(e).__name__}): "
            "it is truncated or corrupted, or was not written by save_checkpoint"
        ) from e
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise ValueError(f"{str(path)!r} is not a checkpoint of save_checkpoint (no 'model' entry)")
    if with_optimizer and "optimizer" not in checkpoint:
        raise ValueError(f"{str(path)!r} holds no optimizer state")
    return checkpoint


# ---------------------------------------------------------------- a training run's state


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0, 1 outside DistributedDataParallel)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _per_rank(value: Any) -> list[Any]:
    """`value` of every process, in rank order (a collective: every rank must call it)."""
    import torch.distributed as dist

    rank, world_size = rank_and_world()
    if world_size == 1:
        return [value]
    values: list[Any] = [None] * world_size
    dist.all_gather_object(values, value)  # works with gloo and NCCL alike
    return values


def save_run(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    sampler: ResumableSampler,
    **state: Any,
) -> None:
    """Save everything `resume_run` needs; under DDP every rank calls it and rank 0 writes.

    Args:
        path, model, optimizer: As for `save_checkpoint`.
        scaler: The run's loss scaler.
        sampler: The training loader's sampler: it knows the current epoch's order.
        **state: ``run=`` (the signature), ``step=``, ``history=``, ``epoch_sums=``.
    """
    rng_states = _per_rank(torch.get_rng_state())
    sampler_states = dict(enumerate(_per_rank(sampler.state_dict())))  # by rank
    if rank_and_world()[0] == 0:
        save_checkpoint(
            path,
            model,
            optimizer,
            scaler=scaler.state_dict(),
            **state,
            rng_state=rng_states,
            sampler=sampler_states,
        )


def _check_signature(saved: dict[str, Any] | None, run: dict[str, Any]) -> None:
    """Refuse a checkpoint of another run, naming what differs."""
    if saved is None:
        raise ValueError("the checkpoint holds no run signature: it was not saved by train(checkpoint=...)")
    if (saved.get("device"), saved.get("precision")) != (run["device"], run["precision"]):
        # Another device type or precision rounds differently: the result would not be the saved run's.
        raise ValueError(
            f"the checkpoint was saved on {saved.get('device')} in {saved.get('precision')}, this run is on "
            f"{run['device']} in {run['precision']}: resume on the same kind of device, with the same amp="
        )
    if saved != run:
        differ = sorted(k for k in run if saved.get(k) != run[k])
        raise ValueError(
            f"the checkpoint was saved by a run with {saved}, this one has {run} (differing: {differ}): "
            "resume with the same loader, epochs, max_steps, lr and schedule"
        )


def load_scaler_state(scaler: torch.amp.GradScaler, state: dict[str, Any]) -> None:
    """Load a saved loss-scaler state; an empty one (from a disabled scaler) leaves `scaler` fresh.

    A disabled scaler (fp32 or bf16 runs) saves ``{}``, and an enabled scaler refuses an
    empty state. Only fp16 runs, whose scalers are both enabled, have a state to load.
    """
    if state and scaler.is_enabled():
        scaler.load_state_dict(state)


def _mine(per_rank: list[Any] | dict[int, Any], what: str) -> Any:
    """This process's entry of a per-rank list, or a clear error if the process count changed."""
    rank, world_size = rank_and_world()
    if len(per_rank) != world_size:
        raise ValueError(
            f"the checkpoint holds the {what} of {len(per_rank)} process(es), this run has {world_size}: "
            "resume with as many processes"
        )
    return per_rank[rank]


def resume_run(
    source: str | os.PathLike | dict,
    run: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    sampler: ResumableSampler,
    batch_size: int,
) -> dict[str, Any]:
    """Load a run saved by `save_run` into the objects of a new run with signature `run`.

    The sampler is set to continue the saved epoch after its last trained batch.

    Returns:
        The checkpoint; its ``"rng_state"`` is this process's state (to set when the
        resumed epoch's first batch is about to be drawn).
    """
    saved = source if isinstance(source, dict) else load_checkpoint(source, map_location="cpu")
    if saved.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"the checkpoint has format {saved.get('format')!r}, this resnet_lib resumes format "
            f"{CHECKPOINT_FORMAT} only: its weights still load with load_checkpoint, but the run starts afresh"
        )
    _check_signature(saved.get("run"), run)
    unwrap(model).load_state_dict(saved["model"], strict=True)
    optimizer.load_state_dict(saved["optimizer"])
    load_scaler_state(scaler, saved["scaler"])
    steps_per_epoch, step = run["steps_per_epoch"], saved["step"]
    done = step - (step - 1) // steps_per_epoch * steps_per_epoch  # batches of the last epoch begun: 1..all
    sampler.resume(_mine(saved["sampler"], "sampler states"), skip=done * batch_size)
    return {**saved, "rng_state": _mine(saved["rng_state"], "random states")}


class RunCheckpoints:
    """The checkpoints of one run of `train`: where the run starts, and saving it now.

    Args:
        path: Where `save` writes (None: it writes nothing).
        resume_from: A checkpoint (path or loaded dict) that `start` continues (None: a new run).
        loader: The training loader; its sampler must be a `ResumableSampler` if either is set.
        **signature: The settings that make the run the same run (`resume_run` compares them).
    """

    def __init__(
        self,
        path: str | os.PathLike | None,
        resume_from: str | os.PathLike | dict | None,
        loader: torch.utils.data.DataLoader,
        **signature: Any,
    ) -> None:
        if path is not None:
            check_path("checkpoint", path)
        if resume_from is not None and not isinstance(resume_from, dict):
            check_path("resume_from", resume_from)  # a path, or a loaded checkpoint
        self.path, self.resume_from, self.loader = path, resume_from, loader
        self.sampler = resumable_sampler(loader) if path is not None or resume_from is not None else None
        self.signature = {**signature, "steps_per_epoch": len(loader)}
        self.rng_state: torch.Tensor | None = None

    def start(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler
    ) -> tuple[int, int, dict[str, list[float]], list[float | int]]:
        """``(step, epoch, history, epoch_sums)`` to start from; a new run: 0, 0, empty, zeros.

        Resuming loads the saved state into `model`, `optimizer`, `scaler` and the sampler;
        the epoch is the one of the last saved step (the sampler continues it).
        """
        if self.resume_from is None:
            return 0, 0, {key: [] for key in HISTORY_KEYS}, [0.0, 0, 0]
        saved = resume_run(
            self.resume_from, self.signature, model, optimizer, scaler, self.sampler, self.loader.batch_size
        )
        self.rng_state, step = saved["rng_state"], saved["step"]
        history = {k: list(v) for k, v in saved["history"].items()}  # a copy: resume_from stays as it was
        return step, (step - 1) // len(self.loader), history, saved["epoch_sums"]

    def batches(self) -> Iterator[Any]:
        """The loader's batches of the next epoch. Resuming, the first call sets the random
        state the saved run would have drawn its next crops with (after `iter`, which draws
        a seed of its own), and its sampler skips the batches the saved run trained on."""
        batches = iter(self.loader)
        if self.rng_state is not None:
            torch.set_rng_state(self.rng_state)
            self.rng_state = None
        return batches

    def save(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, **state: Any
    ) -> None:
        """Save the run now (``step=``, ``history=``, ``epoch_sums=``), if it has a `path`."""
        if self.path is not None:
            save_run(self.path, model, optimizer, scaler, self.sampler, run=self.signature, **state)
