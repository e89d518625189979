"""The grid of notebook 05: which networks, in which modes, at which batch size.

A `BenchConfig` is one cell of the grid; `grid_configs` builds every combination of
depth, mode and implementation, and `default_grid` picks the grid a device can run
in reasonable time (the full one on CUDA, a reduced one on Apple GPUs and CPUs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from resnet_lib.precision import amp_dtype
from resnet_lib.tools.validate import check_int, check_one_of

DEPTHS: tuple[int, ...] = (18, 34, 50, 101, 152)
IMPLEMENTATIONS: tuple[str, ...] = ("resnet_lib", "torchvision")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")

#: The modes of the grid, each adding one thing to the one before:
#: name -> (mixed precision, channels_last, torch.compile).
#: "amp" is bf16 where the device supports it, fp16 with a gradient scaler otherwise.
MODES: dict[str, tuple[bool, bool, bool]] = {
    "fp32": (False, False, False),
    "channels_last": (False, True, False),
    "amp+cl": (True, True, False),
    "amp+cl+compile": (True, True, True),
}


def planned_device(name: str, device: object) -> torch.device:
    """`device` as a `torch.device`, whether or not this machine has one (a GPU's grid can be planned anywhere).

    Running on a device checks more: `resnet_lib.tools.validate.check_device`.
    """
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{name} must be a torch.device or a string such as 'cpu' or 'cuda', got {device!r}")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"{name} must name a device such as 'cpu', 'cuda' or 'mps', got {device!r}"
        ) from None


@dataclass(frozen=True)
class BenchConfig:
    """One cell of the grid: which network, how big a batch, and how it is run.

    Args:
        depth: 18, 34, 50, 101 or 152.
        batch_size: Images per step.
        image_size: Height and width of the (random) images.
        precision: "fp32", or "bf16" / "fp16" for mixed precision (`torch.autocast`;
            fp16 adds a gradient scaler).
        channels_last: Store the batch and the weights as NHWC.
        compile: Run the model through `torch.compile`.
        impl: "resnet_lib" or "torchvision".
    """

    depth: int = 50
    batch_size: int = 64
    image_size: int = 224
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    impl: str = "resnet_lib"

    def __post_init__(self) -> None:
        check_one_of("depth", self.depth, DEPTHS)
        check_int("batch_size", self.batch_size)
        check_int("image_size", self.image_size)
        check_one_of("precision", self.precision, PRECISIONS)
        check_one_of("channels_last", self.channels_last, (False, True))
        check_one_of("compile", self.compile, (False, True))
        check_one_of("impl", self.impl, IMPLEMENTATIONS)

    @property
    def mode(self) -> str:
        """Short label, e.g. "fp32", "fp32+cl", "bf16+cl+compile"."""
        return "+".join([self.precision] + ["cl"] * self.channels_last + ["compile"] * self.compile)


def _names(name: str, values: Sequence, allowed: Sequence) -> None:
    """Raise unless `values` is a non-empty sequence (not a bare string) of `allowed` values."""
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise TypeError(f"{name} must be a non-empty sequence such as {tuple(allowed)[:2]!r}, got {values!r}")
    for value in values:
        check_one_of(name[:-1], value, allowed)  # "depths" -> "depth"


def grid_configs(
    depths: Sequence[int] = DEPTHS,
    modes: Sequence[str] = tuple(MODES),
    batch_size: int = 64,
    image_size: int = 224,
    device: torch.device | str | None = None,
    impls: Sequence[str] = IMPLEMENTATIONS,
) -> list[BenchConfig]:
    """Every combination of depth, mode and implementation.

    Args:
        depths: Some of `DEPTHS`.
        modes: Some of `MODES`.
        batch_size: Images per step, in every cell.
        image_size: Height and width of the images, in every cell.
        device: The device the grid is for: it decides what "amp" means (`amp_dtype`);
            the CPU when ``None``.
        impls: Some of `IMPLEMENTATIONS`.
    """
    _names("depths", depths, DEPTHS)
    _names("modes", modes, tuple(MODES))
    _names("impls", impls, IMPLEMENTATIONS)
    amp = amp_dtype(torch.device("cpu") if device is None else planned_device("device", device))
    configs = []
    for depth in depths:
        for mode in modes:
            mixed, channels_last, compiled = MODES[mode]
            for impl in impls:
                precision = amp if mixed else "fp32"
                configs.append(
                    BenchConfig(depth, batch_size, image_size, precision, channels_last, compiled, impl)
                )
    return configs


#: The grid on a CUDA GPU, and the reduced one that runs in seconds on a CPU (no compile:
#: on a CPU it needs a C++ compiler and minutes). Apple MPS: `MPS_GRID`, no compile, batch 32.
GPU_GRID = {"depths": DEPTHS, "modes": tuple(MODES), "batch_size": 256, "image_size": 224}
#: What notebook 05 runs on a CUDA GPU unless asked for the full grid: ResNet-18, and
#: ResNet-50 (the network of the targets), in all four modes. Every compiled cell
#: compiles two networks twice (training and inference), which on a small GPU with two
#: CPU cores (Colab's T4) takes minutes each: the full grid is not for a workshop.
QUICK_GPU_GRID = {"depths": (18, 50), "modes": tuple(MODES), "batch_size": 128, "image_size": 224}
MPS_GRID = {
    "depths": DEPTHS,
    "modes": ("fp32", "channels_last", "amp+cl"),
    "batch_size": 32,
    "image_size": 224,
}
CPU_GRID = {
    "depths": (18, 50),
    "modes": ("fp32", "channels_last", "amp+cl"),
    "batch_size": 4,
    "image_size": 32,
}


def default_grid(device: torch.device | str, full: bool = True) -> list[BenchConfig]:
    """The grid for `device`.

    Args:
        device: Where the grid will run.
        full: On CUDA, ``False`` gives `QUICK_GPU_GRID` instead of `GPU_GRID`.

    Returns:
        The cells of `GPU_GRID` on CUDA (a batch that does not fit is halved while
        running), of `MPS_GRID` on Apple GPUs and of `CPU_GRID` elsewhere.
    """
    check_one_of("full", full, (False, True))
    device = planned_device("device", device)
    return grid_configs(device=device, **grid_for(device, full))


def grid_for(device: torch.device, full: bool = True) -> dict:
    """The settings of `default_grid` (`GPU_GRID`, `QUICK_GPU_GRID`, `MPS_GRID` or `CPU_GRID`)."""
    return {"cuda": GPU_GRID if full else QUICK_GPU_GRID, "mps": MPS_GRID}.get(device.type, CPU_GRID)
