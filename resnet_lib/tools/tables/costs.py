"""What each ResNet costs: parameters, multiply-adds, memory, receptive field (notebook 04)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from resnet_lib.device import model_device
from resnet_lib.flops import count_flops
from resnet_lib.inspection import count_parameters, in_mode, model_receptive_field, saved_tensor_bytes
from resnet_lib.models import ResNet
from resnet_lib.tools.tables.layout import depth_of
from resnet_lib.tools.tables.table import Table
from resnet_lib.tools.validate import check_int


@dataclass(frozen=True)
class ModelStats:
    """What one ResNet costs; see `model_stats`."""

    depth: int
    parameters: int
    macs: int  # multiply-adds of one image
    flops: int  # 2 x macs
    weight_bytes: int  # parameters x bytes per element
    activation_bytes: int  # activations saved for backward by a training-mode forward of `batch_size` images
    batch_size: int
    receptive_field: int  # side of the input square one output unit of layer4 sees
    image_size: int


def activation_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes of activations autograd keeps from one forward pass: weights left out.

    Weights are there whatever the batch size; what is left grows with the batch.
    See `resnet_lib.inspection.saved_tensor_bytes`.
    """
    return saved_tensor_bytes(model, x, include_parameters=False)


def model_stats(model: ResNet, image_size: int = 224, batch_size: int = 1) -> ModelStats:
    """Parameters, multiply-adds, weight and activation memory and receptive field of `model`.

    Everything runs on the device of the model's parameters. The activation memory is
    `activation_bytes` of one training-mode forward pass of a batch of zeros; the
    BatchNorm running statistics it would update are restored afterwards, so the model
    is left exactly as it was (mode included).

    Args:
        model: A ResNet of `RESNET_CONFIGS`.
        image_size: Side of the square input (multiply-adds, activations).
        batch_size: Images in the batch whose activation memory is measured.
    """
    depth = depth_of(model)
    check_int("batch_size", batch_size)
    device = model_device(model)
    flops = count_flops(model, (1, model.in_channels, image_size, image_size))

    with in_mode(model, training=True, keep_buffers=True):
        x = torch.zeros(batch_size, model.in_channels, image_size, image_size, device=device)
        activations = activation_bytes(model, x)

    return ModelStats(
        depth=depth,
        parameters=count_parameters(model),
        macs=flops.macs,
        flops=flops.flops,
        weight_bytes=sum(p.numel() * p.element_size() for p in model.parameters()),
        activation_bytes=activations,
        batch_size=batch_size,
        # The receptive field does not depend on the input size: trace a small input.
        receptive_field=model_receptive_field(model, (1, model.in_channels, 64, 64)).size,
        image_size=image_size,
    )


def comparison_table(stats: Sequence[ModelStats]) -> Table:
    """One row per model: parameters, multiply-adds, FLOPs, memory, receptive field.

    Memory is in MB of 10^6 bytes (as torchinfo's summary). All rows must share the
    image size and batch size, which the header states.
    """
    if not stats:
        raise ValueError("need at least one ModelStats")
    image_size, batch_size = stats[0].image_size, stats[0].batch_size
    if any((s.image_size, s.batch_size) != (image_size, batch_size) for s in stats):
        raise ValueError("all rows must share image_size and batch_size")
    res = f"@{image_size}"
    rows = tuple(
        (
            f"ResNet-{s.depth}",
            f"{s.parameters:,}",
            f"{s.macs / 1e9:.3f} G",
            f"{s.flops / 1e9:.3f} G",
            f"{s.weight_bytes / 1e6:.1f}",
            f"{s.activation_bytes / 1e6:.1f}",
            f"{s.receptive_field}",
        )
        for s in stats
    )
    return Table(
        columns=(
            "model",
            "parameters",
            f"multiply-adds {res}",
            f"FLOPs {res}",
            "weights (MB)",
            f"activations (MB, batch {batch_size}, training)",
            "receptive field",
        ),
        rows=rows,
    )
