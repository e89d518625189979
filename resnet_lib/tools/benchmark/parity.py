"""The README's parity benchmark: resnet_lib against torchvision, same weights, same batch."""

from __future__ import annotations

from collections.abc import Callable

import torch

from resnet_lib.device import pick_device, seed_everything
from resnet_lib.models import RESNET_CONFIGS, resnet
from resnet_lib.tools.timing import StepStats, compare_training_step
from resnet_lib.tools.validate import check_device, check_int, check_one_of

__all__ = ["parity_benchmark"]


def parity_benchmark(
    depth: int = 50,
    batch_size: int = 8,
    image_size: int = 224,
    device: torch.device | str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, StepStats]:
    """Time a training step (forward + backward) of our ResNet-`depth` and torchvision's.

    Both hold the same weights and see the same random batch; `device` is `pick_device()`
    when None; `progress` is called with a line at each stage (see `compare_training_step`).
    """
    import torchvision

    check_one_of("depth", depth, RESNET_CONFIGS)
    check_int("batch_size", batch_size)
    check_int("image_size", image_size)
    device = pick_device() if device is None else check_device("device", device)
    # Seeds only: the timing settings are compare_training_step's (speed_settings).
    seed_everything(0, num_threads=None, deterministic=False)
    ours = resnet(depth).to(device)
    theirs = getattr(torchvision.models, f"resnet{depth}")().to(device)
    ours.load_state_dict(theirs.state_dict(), strict=True)  # identical networks
    x = torch.randn(batch_size, 3, image_size, image_size, device=device)
    return compare_training_step({"resnet_lib": ours, "torchvision": theirs}, x, progress=progress)
