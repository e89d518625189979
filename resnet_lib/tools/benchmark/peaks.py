"""What a GPU promises: the datasheet peaks that the grid's TFLOP/s are divided by."""

from __future__ import annotations

import re

import torch

from resnet_lib.tools.validate import check_one_of

#: Dense (no 2:4 sparsity) peak tensor throughput in TFLOP/s, from the datasheets:
#: NVIDIA H100 and H200 Tensor Core GPU (SXM, PCIe and NVL columns; their headline
#: figures are "with sparsity", the dense ones half of them), A100 Tensor Core GPU, L4
#: Tensor Core GPU (sparse figures halved), T4 and V100 (Turing and Volta have no bf16
#: and no tf32; V100: SXM2 and PCIe). "fp32" is the non-tensor-core figure. Keys are
#: substrings of `torch.cuda.get_device_name()`, tried in order, so the more specific
#: names come first ("NVIDIA H100 80GB HBM3" is the SXM part).
PEAK_TFLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H100 PCIe", {"bf16": 756.5, "fp16": 756.5, "tf32": 378.0, "fp32": 51.0}),
    ("H100 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),
    ("H100", {"bf16": 989.5, "fp16": 989.5, "tf32": 494.5, "fp32": 67.0}),  # SXM5
    # The H200 is the H100's chip with faster memory: the same peaks.
    ("H200 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),
    ("H200", {"bf16": 989.5, "fp16": 989.5, "tf32": 494.5, "fp32": 67.0}),
    ("A100", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5}),
    ("L4", {"bf16": 121.0, "fp16": 121.0, "tf32": 60.0, "fp32": 30.3}),
    ("T4", {"fp16": 65.0, "fp32": 8.1}),
    ("V100-PCIE", {"fp16": 112.0, "fp32": 14.0}),
    ("V100", {"fp16": 125.0, "fp32": 15.7}),  # SXM2, e.g. "Tesla V100-SXM2-16GB"
)

#: Peak memory bandwidth in TB/s (10^12 bytes/s), from the same datasheets: H100 SXM
#: 3.35, PCIe 2.0, NVL 3.9; H200 SXM and NVL 4.8 (HBM3e); A100 80GB SXM 2.039, 80GB
#: PCIe 1.935, 40GB 1.555; L4 0.300; T4 0.320; V100 0.900. A ResNet's training step is
#: mostly memory-bound (notebook 05, section 3.3), so an H100 and an H200, with the
#: same TFLOP/s, still differ in speed.
PEAK_BANDWIDTH_TBS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 2.0),
    ("H100 NVL", 3.9),
    ("H100", 3.35),  # SXM5
    ("H200 NVL", 4.8),
    ("H200", 4.8),
    ("A100-SXM4-80GB", 2.039),
    ("A100 80GB PCIe", 1.935),
    ("A100", 1.555),  # the 40GB parts, SXM4 and PCIe
    ("L4", 0.3),
    ("T4", 0.32),
    ("V100-PCIE", 0.9),
    ("V100", 0.9),
)


def _lookup(table: tuple, device_name: str) -> object | None:
    """The value of the first key of `table` found in `device_name` as a whole word."""
    if not isinstance(device_name, str):
        example = "'NVIDIA H100 80GB HBM3'"
        got = repr(device_name)
        raise TypeError(f"device_name must be a str such as {example}, got {got}")
    for key, value in table:
        # Whole words only: "L4" must not match "NVIDIA L40S".
        word = rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])"
        if re.search(word, device_name, re.IGNORECASE):
            return value
    return None


def peak_tflops(device_name: str, precision: str) -> float | None:
    """The datasheet peak of a GPU for one number format; None if it is not known.

    Args:
        device_name: What `torch.cuda.get_device_name()` says, e.g. "Tesla T4".
        precision: "bf16", "fp16", "tf32" or "fp32".

    Returns:
        Dense TFLOP/s, or None for an unknown GPU or a format it has no peak for.
    """
    check_one_of("precision", precision, ("bf16", "fp16", "tf32", "fp32"))
    peaks = _lookup(PEAK_TFLOPS, device_name)
    return None if peaks is None else peaks.get(precision)


def peak_bandwidth(device_name: str) -> float | None:
    """The datasheet memory bandwidth of a GPU in TB/s; None if it is not known."""
    return _lookup(PEAK_BANDWIDTH_TBS, device_name)


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
