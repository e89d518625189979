"""Looking inside a model: parameters, the layers an input meets, receptive fields, the
memory kept for the backward pass, the gradient each layer gets. All measured on the
real model, so the notebooks' numbers are computed, never typed (FLOPs: `flops`).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from resnet_lib.arithmetic import ReceptiveField, receptive_field
from resnet_lib.device import model_device
from resnet_lib.tools.validate import check_int, check_module, check_shape, check_tensor


@contextlib.contextmanager
def in_mode(model: nn.Module, training: bool, keep_buffers: bool = False) -> Iterator[nn.Module]:
    """Run a block with `model` in train or eval mode, then put its mode back (and, with
    `keep_buffers`, every buffer: BatchNorm's statistics). Measuring must not change it."""
    check_module("model", model)
    was_training = model.training
    saved = [b.clone() for b in model.buffers()] if keep_buffers else []
    model.train(training)
    try:
        yield model
    finally:
        model.train(was_training)
        with torch.no_grad():
            for b, value in zip(model.buffers(), saved):
                b.copy_(value)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (weights and biases; BatchNorm's running stats are buffers)."""
    check_module("model", model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@dataclass(frozen=True)
class LayerCall:
    """One conv or pooling layer as an input met it during a forward pass."""

    name: str
    kind: str  # "conv" or "pool"
    in_size: int  # height of the input (square inputs: also the width)
    out_size: int
    kernel_size: int
    stride: int
    padding: int
    dilation: int
    in_channels: int
    out_channels: int


def trace_layers(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> list[LayerCall]:
    """Run zeros of `input_size` through `model` (eval mode) and record every Conv2d and
    MaxPool2d as it runs, with its name (``layer2.0.conv2``): the sizes PyTorch computed,
    which the notebooks compare with the formulas."""
    check_module("model", model)
    check_shape("input_size", input_size, 4, "(batch, channels, height, width)")
    calls: list[LayerCall] = []
    kinds = {nn.Conv2d: "conv", nn.MaxPool2d: "pool"}

    def record(name: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            x, (k, s, p, d) = inputs[0], (module.kernel_size, module.stride, module.padding, module.dilation)
            first = [v if isinstance(v, int) else v[0] for v in (k, s, p, d)]  # square windows
            kind = kinds[type(module)]
            calls.append(
                LayerCall(name, kind, x.shape[-2], output.shape[-2], *first, x.shape[1], output.shape[1])
            )

        return hook

    handles = [m.register_forward_hook(record(n)) for n, m in model.named_modules() if type(m) in kinds]
    try:
        with in_mode(model, training=False), torch.no_grad():
            model(torch.zeros(input_size, device=model_device(model)))
    finally:
        for h in handles:
            h.remove()
    return calls


def model_receptive_field(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> ReceptiveField:
    """Receptive field of a ResNet's last feature map, from its traced layers. The field of
    a sum is its larger branch's, and the convs see more than the shortcut, so the
    shortcut's projections (``downsample``) are left out of the chain."""
    chain = [c for c in trace_layers(model, input_size) if "downsample" not in c.name]
    if not chain:
        raise ValueError(f"{type(model).__name__} has no Conv2d or MaxPool2d layer: no receptive field")
    return receptive_field((c.kernel_size, c.stride, c.padding, c.dilation) for c in chain)


def measure_receptive_field(model: nn.Module, image_size: int) -> int:
    """Measure the receptive field by backpropagating from the unit nearest the centre of
    the feature map (``forward_features`` where the model has one).

    On a copy made linear and positive (conv weights 1, BatchNorm and ReLU pass values
    through, max-pooling averages the same windows), no path can cancel or switch off
    another: the input rows with a non-zero gradient are exactly those the unit sees.
    """
    check_module("model", model)
    check_int("image_size", image_size)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no Conv2d layer: no receptive field to measure")
    linear = copy.deepcopy(model).cpu().eval().double()
    for m in linear.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.ones_(m.weight)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()  # running mean 0, variance 1, weight 1, bias 0
        elif isinstance(m, nn.ReLU):
            m.forward = lambda x: x  # a ReLU would switch off negative paths
        elif isinstance(m, nn.MaxPool2d):
            m.forward = nn.AvgPool2d(m.kernel_size, m.stride, m.padding).forward  # same windows
    features = getattr(linear, "forward_features", linear)
    x = torch.zeros(1, convs[0].in_channels, image_size, image_size, dtype=torch.float64, requires_grad=True)
    out = features(x)
    if out.dim() != 4:
        raise ValueError(f"the model must output a feature map (batch, c, h, w), got {tuple(out.shape)}")
    out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
    rows = x.grad[0].abs().sum(dim=(0, 2)).nonzero()
    if rows.min() == 0 or rows.max() == image_size - 1:  # the field reaches the border: clipped
        raise ValueError(f"image_size={image_size} is too small: the receptive field is cut by the border")
    return int(rows.max() - rows.min() + 1)


def saved_tensor_bytes(model: nn.Module, x: torch.Tensor, include_parameters: bool = True) -> int:
    """Bytes that autograd keeps from a forward pass of `x` for the backward pass: the memory
    of training that grows with the batch, measured alike on every device (a CPU has no
    allocator statistics). Shared storage counts once; ``include_parameters=False`` leaves
    out the weights layers save (a conv keeps its weight): activations only."""
    check_module("model", model)
    check_tensor("x", x)
    parameters = set() if include_parameters else {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in parameters:
            storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(storages.values())


def gradient_norms(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    layer_type: type[nn.Module] = nn.Conv2d,
) -> list[tuple[str, float]]:
    """How much gradient reaches each layer: ``(name, norm of d(loss)/d(output))`` for
    every `layer_type` layer, nearest the input first, from one training step's forward
    and backward pass (cross-entropy with labels `y`) without the update. The model is
    left as it was: its ``.grad``s and BatchNorm's statistics are put back."""
    order: list[str] = []
    grads: dict[str, float] = {}

    def watch(name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            order.append(name)
            output.register_hook(lambda g: grads.__setitem__(name, g.norm().item()))

        return hook

    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, layer_type)]
    handles = [m.register_forward_hook(watch(n)) for n, m in layers]
    saved = {p: p.grad for p in model.parameters()}
    try:
        with in_mode(model, training=True, keep_buffers=True):
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
    finally:
        for h in handles:
            h.remove()
        for p, g in saved.items():
            p.grad = g
    return [(name, grads[name]) for name in order]
