"""A data set drawn by code: 10 classes of coloured shapes and textures.

`make_shapes` draws it from a seed in a fraction of a second, with no download, so a
short CPU run still shows a network learning (CIFAR-10 needs minutes per epoch on a
CPU). `data.image_data` falls back to it when CIFAR-10 is not there.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import TensorDataset

from resnet_lib.tools.validate import check_int, check_number

__all__ = ["SHAPE_CLASSES", "make_shapes"]

#: The classes of `make_shapes`, in label order.
SHAPE_CLASSES: tuple[str, ...] = (
    "disc",
    "square",
    "triangle",
    "ring",
    "cross",
    "horizontal stripes",
    "vertical stripes",
    "diagonal stripes",
    "checkerboard",
    "dots",
)


def _shape_masks(labels: torch.Tensor, size: int, g: torch.Generator) -> torch.Tensor:
    """(N, size, size) masks in [0, 1]: where each image's shape or texture is."""
    n = len(labels)

    def uniform(low: float, high: float) -> torch.Tensor:
        return (low + (high - low) * torch.rand(n, 1, 1, generator=g)) * size

    # Pixel coordinates, measured in pixels, one grid shared by all images.
    yy, xx = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    radius = uniform(0.18, 0.32)
    cy, cx = uniform(0.35, 0.65), uniform(0.35, 0.65)
    dy, dx = yy - cy, xx - cx
    period = uniform(0.25, 0.35)  # at least 4 pixels at 16x16: no aliasing
    phase = torch.rand(n, 1, 1, generator=g) * 2 * math.pi
    wave = lambda t: (torch.sin(2 * math.pi * t / period + phase) > 0).float()  # noqa: E731
    patch = ((dy.abs() < 1.5 * radius) & (dx.abs() < 1.5 * radius)).float()  # where textures are
    thin = torch.clamp(radius / 3, min=1.0)

    masks = torch.stack(
        [
            (dy**2 + dx**2 < radius**2).float(),  # disc
            ((dy.abs() < radius * 0.9) & (dx.abs() < radius * 0.9)).float(),  # square
            ((dy < radius * 0.8) & (dy > -radius) & (dx.abs() < (dy + radius) * 0.6)).float(),  # triangle
            (((dy**2 + dx**2).sqrt() - radius).abs() < thin * 0.6).float(),  # ring
            (((dy.abs() < thin) & (dx.abs() < radius)) | ((dx.abs() < thin) & (dy.abs() < radius))).float(),
            wave(yy) * patch,  # horizontal stripes
            wave(xx) * patch,  # vertical stripes
            wave((xx + yy) / math.sqrt(2)) * patch,  # diagonal stripes
            (wave(xx) == wave(yy)).float() * patch,  # checkerboard
            (
                torch.sin(2 * math.pi * yy / period + phase) * torch.sin(2 * math.pi * xx / period + phase)
                > 0.5
            ).float()
            * patch,  # dots
        ]
    )  # (classes, N, size, size)
    return masks[labels, torch.arange(n)]


def make_shapes(
    n_train: int = 5000,
    n_val: int = 1000,
    image_size: int = 32,
    seed: int = 0,
    noise: float = 0.15,
) -> tuple[TensorDataset, TensorDataset]:
    """A learnable 10-class image set drawn by code: coloured shapes and textures.

    Each image is one shape or texture (`SHAPE_CLASSES`) at a random position and
    size, in a random colour on a random background colour, plus Gaussian noise.
    The same arguments always give the same images. Images are normalised to mean 0
    and standard deviation 1 per channel (with the training set's statistics).

    Args:
        n_train: Number of training images (classes are balanced: label = index mod 10).
        n_val: Number of validation images, drawn independently of the training ones.
        image_size: Height and width (at least 16).
        seed: Seed of the random generator.
        noise: Standard deviation of the pixel noise, on a 0..1 colour scale.

    Returns:
        ``(train, val)`` TensorDatasets of ``(image (3, size, size), label)``.
    """
    check_int("n_train", n_train)
    check_int("n_val", n_val)
    check_int("image_size", image_size, minimum=16)  # smaller shapes are not recognisable
    check_int("seed", seed, minimum=0)
    check_number("noise", noise)
    g = torch.Generator().manual_seed(seed)
    n = n_train + n_val
    labels = torch.arange(n) % len(SHAPE_CLASSES)
    labels = labels[torch.randperm(n, generator=g)]
    mask = _shape_masks(labels, image_size, g).unsqueeze(1)  # (N, 1, H, W)
    foreground = torch.rand(n, 3, 1, 1, generator=g)
    # The background is the foreground's colour moved by at least 0.35 in some channel:
    # always visible, never a class cue.
    shift = (0.35 + 0.4 * torch.rand(n, 3, 1, 1, generator=g)) * torch.where(foreground > 0.5, -1.0, 1.0)
    background = foreground + shift * (torch.rand(n, 3, 1, 1, generator=g) < 0.7)
    background[:, 0] = foreground[:, 0] + shift[:, 0]  # at least one channel differs
    images = background + (foreground - background) * mask
    images = (images + noise * torch.randn(images.shape, generator=g)).clamp(0, 1)
    train_x, val_x = images[:n_train], images[n_train:]
    mean = train_x.mean(dim=(0, 2, 3), keepdim=True)
    std = train_x.std(dim=(0, 2, 3), keepdim=True)
    return (
        TensorDataset((train_x - mean) / std, labels[:n_train]),
        TensorDataset((val_x - mean) / std, labels[n_train:]),
    )
