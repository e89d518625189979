"""Mixed precision: one policy, shared by training and the benchmark.

A GPU multiplies 16-bit numbers several times faster than 32-bit ones, so both the
training loop and the benchmark run the network's convolutions in 16 bits under
`torch.autocast`. There are two 16-bit formats:

* bf16 keeps float32's exponent range and needs nothing else. NVIDIA GPUs run it
  natively from Ampere on (compute capability 8.0).
* fp16 has more mantissa bits but a narrow range: small gradients underflow to 0
  unless the loss is first scaled up by a `torch.amp.GradScaler`.

CPU training stays in float32 here: it is what makes the notebooks' printed numbers
repeatable, and a CPU gains little from autocast.
"""

from __future__ import annotations

import contextlib

import torch

from resnet_lib.tools.validate import check_one_of

#: The formats, by name, as the benchmark's results file and the run signatures say them.
DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def amp_dtype(device: torch.device) -> str:
    """The 16-bit format for `device`: "bf16" where it runs natively, else "fp16"."""
    if device.type == "cuda":
        if torch.version.hip is not None:  # AMD GPUs: PyTorch's own check
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        # NVIDIA's tensor cores do bf16 from Ampere on (compute capability 8.0); older GPUs,
        # such as Colab's T4 (7.5), can only emulate it, slowly.
        return "bf16" if torch.cuda.get_device_capability(device) >= (8, 0) else "fp16"
    return "fp16" if device.type == "mps" else "bf16"


def training_precision(device: torch.device, amp: bool = True) -> str:
    """What `train` and `evaluate` use: `amp_dtype` on a GPU, "fp32" on the CPU or with ``amp=False``."""
    return amp_dtype(device) if amp and device.type in ("cuda", "mps") else "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """`torch.autocast` to `precision` ("fp32", "bf16" or "fp16"); "fp32" changes nothing."""
    check_one_of("precision", precision, tuple(DTYPES))
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[precision])


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A loss scaler that is on only for fp16 (bf16 and fp32 have the range to do without)."""
    check_one_of("precision", precision, tuple(DTYPES))
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")
