"""Image data for the training runs: real CIFAR-10, or a small generated set offline.

- `make_shapes` (in `shapes`, re-exported here): 10 classes of coloured shapes and
  textures, drawn by code from a seed (no download, a fraction of a second). A small CNN
  learns it in a few hundred steps, so short runs on a CPU still show learning curves.
- `load_cifar10`: CIFAR-10 through torchvision, normalised with its channel means
  and standard deviations.
- `AugmentedDataset`: the paper's random crops and flips, for either set.
- `image_data`: CIFAR-10 when it is on disk or can be downloaded, else the
  generated set; it says in one printed line which one it used.
- `make_loaders`: seeded DataLoaders, so a run sees the same batches every time; their
  `sampler.ResumableSampler` lets a checkpointed run resume without re-reading batches.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler, Subset

from resnet_lib.tools.sampler import ResumableSampler
from resnet_lib.tools.shapes import SHAPE_CLASSES, make_shapes
from resnet_lib.tools.validate import check_int, check_number, check_one_of

__all__ = [
    "AugmentedDataset",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "SHAPE_CLASSES",
    "ImageData",
    "cifar10_available",
    "image_data",
    "load_cifar10",
    "reachable",
    "make_loaders",
    "make_shapes",
]

#: Per-channel mean and standard deviation of the CIFAR-10 training images.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_FOLDER = "cifar-10-batches-py"  # what torchvision's download unpacks
CIFAR10_HOST = "www.cs.toronto.edu"
CIFAR10_TRAIN = 45_000  # training images kept for training; the other 5,000 validate (Sec. 4.2)


def load_cifar10(root: str = "data", download: bool = True, image_size: int = 32) -> tuple[Dataset, Dataset]:
    """CIFAR-10's 50,000 training and 10,000 test images, normalised per channel.

    Args:
        root: Folder that holds (or will hold) ``cifar-10-batches-py``.
        download: Download the 170 MB archive if it is not in ``root`` yet.
        image_size: Resize to this size (32 keeps the originals).

    Returns:
        ``(train, test)`` torchvision datasets of ``(image (3, size, size), label)``.
    """
    _check_root(root)
    check_one_of("download", download, (True, False))
    check_int("image_size", image_size)
    from torchvision import datasets, transforms

    resize = [] if image_size == 32 else [transforms.Resize(image_size, antialias=True)]
    finish = [transforms.ToTensor(), transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD)]
    # No augmentation here: AugmentedDataset adds it, for CIFAR-10 and generated images alike.
    train = datasets.CIFAR10(
        root, train=True, download=download, transform=transforms.Compose(resize + finish)
    )
    test = datasets.CIFAR10(
        root, train=False, download=download, transform=transforms.Compose(resize + finish)
    )
    return train, test


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


def reachable(host: str, timeout: float) -> bool:
    """True if a TCP connection to host:443 opens within `timeout` seconds.

    Name resolution ignores socket timeouts, so the attempt runs in a daemon thread
    that is simply abandoned when it takes too long: an offline machine never hangs.
    """
    result: list[bool] = []

    def attempt() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def cifar10_available(root: str = "data", timeout: float = 2.0) -> str | None:
    """Where CIFAR-10 can come from: ``"disk"``, ``"download"``, or None (neither)."""
    _check_root(root)
    check_number("timeout", timeout, strict=True)
    if os.path.isdir(os.path.join(root, CIFAR10_FOLDER)):
        return "disk"
    if reachable(CIFAR10_HOST, timeout):
        return "download"
    return None


@dataclass
class ImageData:
    """A training set, a validation set, maybe a test set, and what they are.

    For CIFAR-10 the validation images are held out of the training set (the paper's
    45k/5k split, Sec. 4.2), so that choices made by watching them never touch the test
    set, which is evaluated once, at the end. The generated set has no test split: its
    validation images are drawn independently of the training images.
    """

    train: Dataset
    val: Dataset
    name: str  # "CIFAR-10" or "generated shapes"
    image_size: int
    num_classes: int = 10
    test: Dataset | None = None


def _check_root(root: object) -> None:
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder (a str or Path), got {root!r} ({type(root).__name__})")


def _check_dataset(name: str, dataset: object) -> None:
    if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        raise TypeError(
            f"{name} must be a map-style Dataset (with len() and [i]), got {type(dataset).__name__}"
        )


def _first(dataset: Dataset, n: int | None) -> Dataset:
    return dataset if n is None or n >= len(dataset) else Subset(dataset, range(n))


def image_data(
    prefer: str = "auto",
    root: str = "data",
    image_size: int = 32,
    n_train: int | None = None,
    n_val: int | None = None,
    seed: int = 0,
    timeout: float = 2.0,
) -> ImageData:
    """CIFAR-10 if it is on disk or downloadable, else the generated shapes; prints which.

    Args:
        prefer: ``"auto"`` (CIFAR-10 when available), ``"cifar10"`` (fail if it is
            not) or ``"shapes"`` (the generated set, no network access at all).
        root: Folder for CIFAR-10.
        image_size: Side of the images (CIFAR-10 is resized if not 32).
        n_train, n_val: Use only the first images of each split (None: all of
            CIFAR-10's, 45,000 training and 5,000 validation images, both from its
            training set; 5,000 / 1,000 generated images).
        seed: Seed of the generated set.
        timeout: Seconds to wait for the CIFAR-10 server before falling back.

    Returns:
        An `ImageData`.
    """
    check_one_of("prefer", prefer, ("auto", "cifar10", "shapes"))
    _check_root(root)
    check_int("image_size", image_size)
    for name, value in {"n_train": n_train, "n_val": n_val}.items():
        if value is not None:
            check_int(name, value)
    check_int("seed", seed, minimum=0)
    check_number("timeout", timeout, strict=True)
    reason = "as asked"
    if prefer != "shapes":
        source = cifar10_available(root, timeout)
        if source is None and prefer == "cifar10":
            raise RuntimeError(
                f"CIFAR-10 is neither in {root!r} nor downloadable (no connection to {CIFAR10_HOST})"
            )
        reason = "CIFAR-10 is not on disk and cannot be downloaded"
        if source is not None:
            try:
                train, val = load_cifar10(root, download=source == "download", image_size=image_size)
            except Exception as e:  # a broken download: fall back rather than stop the notebook
                if prefer == "cifar10":
                    raise
                reason = f"loading CIFAR-10 failed ({type(e).__name__})"
            else:
                # The paper's split: the last 5,000 training images validate, the test set tests.
                held_out, rest = (
                    Subset(train, range(CIFAR10_TRAIN, len(train))),
                    Subset(train, range(CIFAR10_TRAIN)),
                )
                data = ImageData(
                    _first(rest, n_train), _first(held_out, n_val), "CIFAR-10", image_size, test=val
                )
                print(
                    f"Data: CIFAR-10, {len(data.train):,} training / {len(data.val):,} validation (held out of the "
                    f"training set) / {len(data.test):,} test images, {image_size}x{image_size}"
                )
                return data
    train, val = make_shapes(
        5000 if n_train is None else n_train,
        1000 if n_val is None else n_val,
        image_size=image_size,
        seed=seed,
    )
    print(
        f"Data: generated shapes ({reason}), {len(train):,} training / {len(val):,} validation images, "
        f"{image_size}x{image_size}"
    )
    return ImageData(train, val, "generated shapes", image_size)


def make_loaders(
    train: Dataset, val: Dataset, batch_size: int = 128, seed: int = 0, num_workers: int = 0
) -> tuple[DataLoader, DataLoader]:
    """Seeded DataLoaders: shuffled training batches (the same order for the same seed),
    validation in order. Incomplete last training batches are dropped, so every step
    sees ``batch_size`` images.

    The training loader shuffles as ``shuffle=True`` would, through a
    `sampler.ResumableSampler`, so that `training.train` can resume a run part-way
    through an epoch without reading its earlier batches again.
    """
    _check_dataset("train", train)
    _check_dataset("val", val)
    check_int("batch_size", batch_size)
    check_int("seed", seed, minimum=0)
    check_int("num_workers", num_workers, minimum=0)
    g = torch.Generator().manual_seed(seed)
    pin = torch.cuda.is_available()
    # The generator shuffles (the sampler's) and seeds the workers (the loader's), as with shuffle=True.
    sampler = ResumableSampler(RandomSampler(train, generator=g))
    train_loader = DataLoader(
        train,
        batch_size,
        sampler=sampler,
        generator=g,
        drop_last=True,
        num_workers=num_workers,
        pin_memory=pin,
    )
    val_loader = DataLoader(val, batch_size * 2, shuffle=False, num_workers=num_workers, pin_memory=pin)
    return train_loader, val_loader
