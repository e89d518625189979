"""Where the code runs, and making runs repeatable.

Every notebook starts with `seed_everything()`, and those that use a device with
`pick_device()`: the first makes a CPU run print the same numbers every time (the stored
notebooks are tested by re-running them), the second uses a GPU when there is one. `model_device` says where a
model is, `synchronize` waits for a device to finish its queued work.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from resnet_lib.tools.validate import check_bool, check_device, check_int

#: Measurements made on GPU machines (scripts/gpu_session.py), shipped inside the package
#: so that a notebook finds them wherever it runs, also in Colab, where the library is
#: installed with pip and the repository's other folders are not there.
MEASURED_DIR = Path(__file__).resolve().parent / "measured"


def pick_device(verbose: bool = True) -> torch.device:
    """The best device: CUDA, then Apple's MPS, then the CPU; `verbose` prints it."""
    if torch.cuda.is_available():
        device = torch.device("cuda")
        detail = f" ({torch.cuda.get_device_name(device)})"
    elif torch.backends.mps.is_available():
        device, detail = torch.device("mps"), " (Apple GPU)"
    else:
        device, detail = torch.device("cpu"), ""
    if verbose:
        print(f"Using device: {device.type}{detail}")
    return device


def seed_everything(seed: int = 0, num_threads: int | None = 2, deterministic: bool = True) -> None:
    """Seed Python, NumPy and PyTorch, and make CPU (and cuDNN) results repeatable.

    `num_threads` fixes PyTorch's CPU threads (None: its default): a float sum split over
    another number of threads rounds differently. `deterministic` asks for deterministic
    kernels (a warning where an operation has none) and turns cuDNN's autotuner off, which
    may pick other algorithms from run to run.
    """
    check_int("seed", seed, minimum=0)
    if seed >= 2**32:  # NumPy's limit
        raise ValueError(f"seed must be below 2**32, got {seed!r}")
    if num_threads is not None:
        check_int("num_threads", num_threads)
    check_bool("deterministic", deterministic)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    if deterministic:
        # cuBLAS needs this to be deterministic; harmless elsewhere.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def model_device(model: torch.nn.Module) -> torch.device:
    """The device a model's parameters are on (where its inputs must go)."""
    parameter = next(model.parameters(), None)
    if parameter is None:
        raise ValueError(
            f"{type(model).__name__} has no parameters, so it is on no device: pass device= where the function takes it"
        )
    return parameter.device


def synchronize(device: torch.device | str) -> None:
    """Wait until `device` has finished the work queued on it (nothing to wait for on a CPU)."""
    device = check_device("device", device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def device_description(device: torch.device | str) -> str:
    """The GPU's name on CUDA, else the device type ("cpu", "mps")."""
    device = check_device("device", device)
    return torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
