"""A data pipeline that keeps up with a GPU: the whole training set as one uint8 tensor.

CIFAR-10's 45,000 training images are 138 MB as uint8, small enough to keep in the
GPU's memory. `TensorImages` holds them as one ``(N, 3, H + 8, W + 8)`` tensor, padded
once, and makes a whole batch at once: it gathers the batch's images, cuts each one's
random crop (mirrored with probability 1/2) in one indexing operation, normalises per
channel, and sets the padding to zero. The path it replaces (`data.AugmentedDataset` behind a torchvision dataset) converts, pads and crops
every image in Python, one at a time, on the CPU.

The crops are the same as `AugmentedDataset`'s: padding is with zeros *after*
normalising (the mean colour), every offset in ``[0, 2p]^2`` is equally likely, and the
flip has probability 1/2 (tests/test_gpu_data.py compares the two). The offsets and
flips are drawn from PyTorch's global CPU generator, as `AugmentedDataset`'s are, so
what makes the old path seeded and resumable holds here too: `train_cifar` seeds that
generator per rank, each epoch continues its stream (so epochs differ), and a
checkpoint of `training.train` saves it, so a resumed run draws the same crops again.

`tensor_loader` wraps it in an ordinary DataLoader whose sampler is a
`sampler.ResumableSampler`: the DataLoader hands the dataset a batch's indices at once
(``__getitems__``), so `train` and exact resume work unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler, Subset
from torch.utils.data.distributed import DistributedSampler

from resnet_lib.tools.data import CIFAR10_MEAN, CIFAR10_STD
from resnet_lib.tools.sampler import ResumableSampler
from resnet_lib.tools.validate import check_device, check_int, check_one_of, check_tensor

__all__ = ["TensorImages", "keep_batch", "tensor_images", "tensor_loader"]


def keep_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The DataLoader's collate_fn: `TensorImages` already returns whole batches."""
    return batch


class TensorImages(Dataset):
    """Images kept as one uint8 tensor, normalised and augmented a whole batch at a time.

    Args:
        images: ``(N, C, H, W)`` uint8, on the device that should do the work.
        labels: ``(N,)`` class indices.
        mean, std: Per channel, on the 0..1 scale (``x / 255``).
        padding: Zero pixels on every side before the random crop (0: no crop).
        flip: Also flip horizontally with probability 1/2.
        channels_last: Return batches in channels_last memory format (a GPU's
            convolutions run faster on them, notebook 05).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        mean: Sequence[float],
        std: Sequence[float],
        padding: int = 4,
        flip: bool = True,
        channels_last: bool = False,
    ) -> None:
        check_tensor("images", images)
        check_tensor("labels", labels)
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(
                f"images must be a uint8 tensor (N, C, H, W), got {images.dtype} {tuple(images.shape)}"
            )
        if labels.shape != images.shape[:1]:
            raise ValueError(f"labels must have shape ({len(images)},), got {tuple(labels.shape)}")
        for name, values in (("mean", mean), ("std", std)):
            if len(values) != images.shape[1]:
                raise ValueError(
                    f"{name} must have one value per channel ({images.shape[1]}), got {values!r}"
                )
        check_int("padding", padding, minimum=0)
        check_one_of("flip", flip, (True, False))
        check_one_of("channels_last", channels_last, (True, False))
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        device, (h, w), p = images.device, images.shape[-2:], padding
        self.images, self.labels = images, labels.to(device, torch.long)
        self.padded = F.pad(images, (p, p, p, p))  # (N, C, H + 2p, W + 2p): 1.56x the memory at p = 4
        shape = (1, -1, 1, 1)
        mean_t = torch.tensor(mean, device=device).view(shape)
        std_t = torch.tensor(std, device=device).view(shape)
        # (x / 255 - mean) / std as a multiply and an add: x * scale + shift.
        self.scale, self.shift = 1 / (255 * std_t), -mean_t / std_t
        self.mean, self.std = tuple(mean), tuple(std)
        self.padding, self.flip = padding, flip
        # Where in a flattened padded image each pixel of the crop at (0, 0) comes from, unflipped
        # and flipped: a crop at (top, left) adds top * (W + 2p) + left to every entry.
        rows = torch.arange(h, device=device)[:, None] * (w + 2 * p)
        cols = torch.arange(w, device=device)[None, :]
        self.sources = torch.stack([rows + cols, rows + cols.flip(1)]).view(2, h * w)
        # 1 inside the image, 0 in the padding: the padding is zero after normalising.
        self.inside = F.pad(torch.ones(h, w, device=device), (p, p, p, p)).view(-1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        n, p = len(indices), self.padding
        # Drawn on the CPU from the global generator, whatever the device: a checkpoint saves
        # that generator's state, and a resumed run then draws the same crops again.
        offsets = torch.randint(0, 2 * p + 1, (n, 2)) if p else torch.zeros(n, 2, dtype=torch.long)
        flips = torch.rand(n) < 0.5 if self.flip else torch.zeros(n, dtype=torch.bool)
        index = torch.as_tensor(indices, device=self.images.device)
        return self.augment(index, offsets, flips), self.labels[index]

    def augment(self, index: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
        """The images at `index`, each cropped at its (top, left) offset in the padded image and
        flipped where `flips`, normalised: ``(B, C, H, W)`` float. One gather for the batch."""
        x = self.padded.index_select(0, index)  # (B, C, H + 2p, W + 2p) uint8
        (n, c), (h, w) = x.shape[:2], self.images.shape[-2:]
        device = x.device
        start = offsets[:, 0] * x.shape[-1] + offsets[:, 1]
        sources = self.sources.index_select(0, flips.long().to(device)).add_(start.to(device)[:, None])
        x = x.view(n, c, -1).gather(2, sources[:, None, :].expand(-1, c, -1)).view(n, c, h, w)
        inside = self.inside.take(sources).view(n, 1, h, w)  # (B, 1, H, W)
        x = x.float().mul_(self.scale).add_(self.shift).mul_(inside)
        return x.contiguous(memory_format=self.memory_format)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self.__getitems__([index])
        return images[0], labels[0]


def _root_and_indices(dataset: Dataset) -> tuple[Dataset, list[int]]:
    """The dataset under any number of Subsets, and which of its items they keep."""
    indices = list(range(len(dataset)))
    while isinstance(dataset, Subset):
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    return dataset, indices


def tensor_images(
    dataset: Dataset,
    device: torch.device | str = "cpu",
    image_size: int | None = None,
    padding: int = 4,
    flip: bool = True,
    channels_last: bool = False,
) -> TensorImages:
    """`dataset` (what `data.image_data` returns) as a `TensorImages` on `device`.

    CIFAR-10 (a torchvision dataset, or Subsets of one) is taken as its raw uint8
    pixels, resized once if `image_size` differs, and normalised with
    `data.CIFAR10_MEAN` and `data.CIFAR10_STD`. Any other dataset of float images
    (the generated shapes) is read once and stored as uint8 per channel between its
    minimum and maximum, with the mean and std that give back the same values (to
    within 1/255 of each channel's range).
    """
    device = check_device("device", device)
    if image_size is not None:
        check_int("image_size", image_size)
    root, indices = _root_and_indices(dataset)
    pixels = getattr(root, "data", None)
    if hasattr(root, "targets") and pixels is not None and getattr(pixels, "ndim", 0) == 4:
        images = torch.as_tensor(pixels[indices]).permute(0, 3, 1, 2).contiguous()  # (N, H, W, C) on disk
        labels = torch.as_tensor([root.targets[i] for i in indices])
        if image_size is not None and image_size != images.shape[-1]:
            resized = F.interpolate(images.float(), size=image_size, mode="bilinear", antialias=True)
            images = resized.round().clamp(0, 255).to(torch.uint8)
        mean, std = CIFAR10_MEAN, CIFAR10_STD
    else:
        loader = DataLoader(dataset, batch_size=1024)
        batches = list(loader)
        x = torch.cat([b[0] for b in batches])
        labels = torch.cat([torch.as_tensor(b[1]) for b in batches])
        low = x.amin(dim=(0, 2, 3), keepdim=True)
        span = (x.amax(dim=(0, 2, 3), keepdim=True) - low).clamp(min=1e-12)
        images = ((x - low) / span * 255).round().to(torch.uint8)
        # x = low + span * u, with u = images / 255, is (u - mean) / std for these:
        mean, std = (-low / span).flatten().tolist(), (1 / span).flatten().tolist()
    return TensorImages(images.to(device), labels.to(device), mean, std, padding, flip, channels_last)


def tensor_loader(
    dataset: TensorImages,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
) -> DataLoader:
    """A DataLoader of `dataset`'s batches, resumable as `data.make_loaders`' are.

    Shuffled: a seeded RandomSampler (one process) or a DistributedSampler (each rank
    its share, a new order every epoch through ``set_epoch``, which `train` calls),
    inside a `sampler.ResumableSampler`; incomplete last batches are dropped. Not
    shuffled: in order, every image (for validation). No worker processes: the work is
    a few tensor operations per batch, on the device where the images are.
    """
    if not isinstance(dataset, TensorImages):
        raise TypeError(f"dataset must be a TensorImages, got {type(dataset).__name__}")
    check_int("batch_size", batch_size)
    check_one_of("shuffle", shuffle, (True, False))
    check_int("seed", seed, minimum=0)
    check_int("world_size", world_size)
    check_int("rank", rank, minimum=0)
    if rank >= world_size:
        raise ValueError(f"rank must be below world_size ({world_size}), got {rank}")
    if not shuffle:
        return DataLoader(dataset, batch_size, sampler=SequentialSampler(dataset), collate_fn=keep_batch)
    if world_size > 1:
        order = DistributedSampler(dataset, world_size, rank, shuffle=True, seed=seed, drop_last=True)
    else:
        order = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    return DataLoader(
        dataset, batch_size, sampler=ResumableSampler(order), drop_last=True, collate_fn=keep_batch
    )
