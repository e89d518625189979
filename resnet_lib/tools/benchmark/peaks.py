"""What a GPU promises: the datasheet peaks that the grid's TFLOP/s are divided by."""

from __future__ import annotations

import re

import torch

from resnet_lib.tools.validate import check_one_of

#: Dense (no 2:4 sparsity) peak tensor throughput in TFLOP/s, from the vendors' datasheets:
#: NVIDIA H100 and H200 Tensor Core GPU datasheets (SXM, PCIe and NVL columns; the sheets'
#: headline figures are "with sparsity", the dense figures are half of them), NVIDIA A100 Tensor
#: Core GPU datasheet, NVIDIA L4 Tensor Core GPU datasheet (sparse figures halved) and
#: NVIDIA T4 and V100 datasheets (Turing and Volta have no bf16 and no tf32; V100: SXM2 and PCIe). "fp32" is the non-tensor-core
#: figure. Keys are substrings of `torch.cuda.get_device_name()`, tried in order, so the
#: more specific names come first ("NVIDIA H100 80GB HBM3" is the SXM part).
PEAK_TFLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H100 PCIe", {"bf16": 756.5, "fp16": 756.5, "tf32": 378.0, "fp32": 51.0}),
    ("H100 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),
    ("H100", {"bf16": 989.5, "fp16": 989.5, "tf32": 494.5, "fp32": 67.0}),  # SXM5
    ("H200 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),  # as H100 NVL
    ("H200", {"bf16": 989.5, "fp16": 989.5, "tf32": 494.5, "fp32": 67.0}),  # same chip as H100 SXM
    ("A100", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5}),
    ("L4", {"bf16": 121.0, "fp16": 121.0, "tf32": 60.0, "fp32": 30.3}),
    ("T4", {"fp16": 65.0, "fp32": 8.1}),
    ("V100-PCIE", {"fp16": 112.0, "fp32": 14.0}),
    ("V100", {"fp16": 125.0, "fp32": 15.7}),  # SXM2, e.g. "Tesla V100-SXM2-16GB"
)


def peak_tflops(device_name: str, precision: str) -> float | None:
    """The datasheet peak of a GPU for one number format, or None if it is not in the table.

    Args:
        device_name: What `torch.cuda.get_device_name()` returns, e.g. "NVIDIA A100-SXM4-80GB".
        precision: "bf16", "fp16", "tf32" or "fp32".

    Returns:
        Dense TFLOP/s, or None for an unknown GPU or a format it has no peak for (T4: bf16).
    """
    if not isinstance(device_name, str):
        raise TypeError(f"device_name must be a str such as 'NVIDIA H100 80GB HBM3', got {device_name!r}")
    check_one_of("precision", precision, ("bf16", "fp16", "tf32", "fp32"))
    for key, peaks in PEAK_TFLOPS:
        # Whole words only: "L4" must not match "NVIDIA L40S".
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])", device_name, re.IGNORECASE):
            return peaks.get(precision)
    return None


def peak_format(device: torch.device, precision: str) -> str:
    """The number format whose peak a cell of `precision` is compared with on `device`.

    On Ampere and later GPUs cuDNN runs fp32 convolutions on the tensor cores in tf32
    by default, so an fp32 cell there is held against the tf32 peak.
    """
    if (
        precision == "fp32"
        and device.type == "cuda"
        and torch.backends.cudnn.allow_tf32
        and torch.cuda.get_device_capability(device) >= (8, 0)
    ):
        return "tf32"
    return precision
