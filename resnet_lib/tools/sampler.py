"""A sampler that can start an epoch part-way through, for an exact resume.

A resumed run should see the batches that the uninterrupted run would have seen: the
rest of the interrupted epoch, in the same shuffled order, then the later epochs.
Reading the epoch's first batches again only to reach that point costs as much data
loading as training on them did. But a shuffled order is fixed by the state of the
shuffling generator when the epoch starts, so a checkpoint can hold that state, and
the resumed run draws the same order again and skips the indices already used: numbers
only, no images are read.

`ResumableSampler` wraps the sampler of a training DataLoader (`data.make_loaders` and
`train_cifar` build theirs with one). It works with

- a `RandomSampler` with its own ``generator=`` (the state is the generator's), and
- a `DistributedSampler` or any sampler without randomness of its own (the order
  depends only on ``set_epoch``, which `train` calls every epoch).

The random crops and flips come from PyTorch's global generator, which the checkpoint
saves separately. Both together make the resume exact with ``num_workers=0``; with
worker processes the augmentation of each batch depends on which worker loads it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, RandomSampler, Sampler

from resnet_lib.tools.validate import check_int

__all__ = ["ResumableSampler", "resumable_sampler"]


class ResumableSampler(Sampler[int]):
    """Yields the indices of `sampler`; can restart an epoch from a saved state, part-way through.

    It draws exactly what `sampler` draws, so wrapping a sampler changes no batch.

    Args:
        sampler: The sampler to wrap (see the module's docstring for which kinds work).
    """

    def __init__(self, sampler: Sampler[int]) -> None:
        if not isinstance(sampler, Sampler):
            raise TypeError(f"sampler must be a torch Sampler, got {sampler!r} ({type(sampler).__name__})")
        if isinstance(sampler, RandomSampler) and sampler.generator is None:
            # Its order would come from a seed drawn afresh every epoch, which nothing saves.
            raise ValueError(
                "sampler is a RandomSampler without generator=: give it a seeded torch.Generator"
            )
        self.sampler = sampler
        self._epoch_start: torch.Tensor | None = None  # the generator state when this epoch began
        self._resume: tuple[torch.Tensor | None, int] | None = None  # (state, skip) for the next epoch

    def __len__(self) -> int:
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        """Pass the epoch on to a DistributedSampler: its order is fixed by its seed and the epoch."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        """What fixes the current epoch's order: ``{"generator": state or None}``."""
        return {"generator": self._epoch_start}

    def resume(self, state: dict[str, Any], skip: int) -> None:
        """Make the next epoch the one that started from `state`, from its index `skip` on.

        Args:
            state: A `state_dict()` saved during that epoch.
            skip: How many of its indices were used already (batches x batch size).
        """
        check_int("skip", skip, minimum=0)
        if not isinstance(state, dict) or "generator" not in state:
            raise ValueError(f"state must be a ResumableSampler.state_dict(), got {state!r}")
        self._resume = (state["generator"], skip)

    def __iter__(self) -> Iterator[int]:
        generator = getattr(self.sampler, "generator", None)
        skip = 0
        if self._resume is not None:
            (state, skip), self._resume = self._resume, None
            if generator is not None and state is not None:
                generator.set_state(state)
        if generator is not None:
            self._epoch_start = generator.get_state()  # before the sampler draws this epoch's order
        return itertools.islice(iter(self.sampler), skip, None)


def resumable_sampler(loader: DataLoader) -> ResumableSampler:
    """The `ResumableSampler` of `loader`, or a clear error saying how to give it one."""
    sampler = getattr(loader, "sampler", None)
    if not isinstance(sampler, ResumableSampler) or loader.batch_size is None:
        raise ValueError(
            f"checkpoints need a train_loader whose sampler is a ResumableSampler (it has {sampler!r}): "
            "make it with resnet_lib.tools.data.make_loaders, or pass "
            "sampler=ResumableSampler(RandomSampler(dataset, generator=...)) and a batch_size to DataLoader"
        )
    return sampler
