"""FLOPs of a forward pass, and of forward + backward (notebooks 04 and 05), counted by
`FlopCounterMode` on meta copies of the weights (shapes, no data: instant); the model
itself is never touched."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call
from torch.utils.flop_counter import FlopCounterMode

from resnet_lib.inspection import in_mode
from resnet_lib.tools.validate import check_module, check_shape


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of a forward pass of the batch: convolutions and matrix products (the rest is
    a rounding error). A multiply-add is 2 FLOPs; torchvision's and the paper's "FLOPs"
    are multiply-adds (`macs`)."""

    flops: int

    @property
    def macs(self) -> int:
        return self.flops // 2


def _count(model: nn.Module, input_size: tuple[int, ...], backward: bool) -> int:
    """FLOPs of a forward pass (and of the backward pass after it) of `model`, on the meta device."""
    check_module("model", model)
    check_shape("input_size", input_size, None, "such as (1, 3, 224, 224)")
    if next(model.parameters(), None) is None:
        raise ValueError(
            f"model must have parameters: FLOPs are counted for its convolutions and matrix products,"
            f" and this {type(model).__name__} has none"
        )
    params = {
        n: torch.empty_like(p, device="meta").requires_grad_(p.requires_grad)
        for n, p in model.named_parameters()
    }
    buffers = {n: torch.empty_like(b, device="meta") for n, b in model.named_buffers()}
    x = torch.empty(tuple(input_size), device="meta")
    # Eval mode: the count is the same in both modes, and a batch of one image would make
    # BatchNorm in train mode refuse a 1x1 feature map.
    with in_mode(model, training=False), FlopCounterMode(display=False) as counter:
        out = functional_call(model, {**params, **buffers}, (x,))
        if backward:
            torch.autograd.grad(out.sum(), [p for p in params.values() if p.requires_grad])
    return counter.get_total_flops()


def count_flops(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> FlopCount:
    """The FLOPs of one forward pass of `model` (on any device, left as it was) on a batch
    of `input_size`: a `FlopCount`, with ``.flops`` and ``.macs`` (multiply-adds)."""
    return FlopCount(_count(model, input_size, backward=False))


def count_step_flops(model: nn.Module, input_size: tuple[int, ...]) -> tuple[int, int]:
    """``(forward, forward + backward)`` FLOPs of a batch of `input_size`, counted, not assumed.

    The backward pass computes gradients for the weights and for the activations,
    except for the input image, so it costs a little less than twice the forward pass.
    """
    return _count(model, input_size, backward=False), _count(model, input_size, backward=True)
