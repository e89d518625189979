"""Looking inside a model: parameters, FLOPs, the layers an input passes through,
receptive fields, memory kept for the backward pass and the gradients each layer gets.

Everything here measures the real model by running it (or reading its modules), so
the numbers in the notebooks are computed, never typed. FLOPs are counted in `flops`.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from resnet_lib.arithmetic import ReceptiveField, receptive_field
from resnet_lib.tools.validate import check_bool, check_int, check_module, check_shape, check_tensor

#: The layout of an input batch, as the messages about a bad input size give it.
IMAGE_BATCH = "(batch, channels, height, width)"


def _device_of(model: nn.Module) -> torch.device:
    """Where `model` runs: the device of its first parameter or buffer; the CPU if it has none."""
    tensor = next(itertools.chain(model.parameters(), model.buffers()), None)
    return torch.device("cpu") if tensor is None else tensor.device


@contextlib.contextmanager
def in_mode(model: nn.Module, training: bool, keep_buffers: bool = False) -> Iterator[nn.Module]:
    """Run a block with `model` in train or eval mode, then put its mode back.

    Measuring a model must not change it. Eval mode keeps BatchNorm's running
    statistics as they are; a measurement that needs train mode can ask for them to be
    restored afterwards (`keep_buffers`).

    Args:
        model: The model.
        training: The mode for the block (``model.train(training)``).
        keep_buffers: Restore every buffer (BatchNorm's statistics) after the block.
    """
    check_module("model", model)
    check_bool("training", training)
    check_bool("keep_buffers", keep_buffers)
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
    """Number of parameters (weights and biases; BatchNorm running stats are buffers).

    Args:
        model: Any module.
        trainable_only: Count only parameters with ``requires_grad=True``.
    """
    check_module("model", model)
    check_bool("trainable_only", trainable_only)
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


def _first(value: int | tuple[int, ...]) -> int:
    return value if isinstance(value, int) else value[0]


def trace_layers(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> list[LayerCall]:
    """Run a forward pass and record every Conv2d and MaxPool2d in the order they run.

    Hooks see the real tensors, so the recorded sizes are what PyTorch computed, not
    what a formula predicts: the notebooks compare the two.

    Args:
        model: The model, run once in eval mode without gradients.
        input_size: Shape of the zero input, batch dimension included.

    Returns:
        One `LayerCall` per call, with the module's name (e.g. ``layer2.0.conv2``).
    """
    check_module("model", model)
    check_shape("input_size", input_size, 4, IMAGE_BATCH)
    calls: list[LayerCall] = []

    def record(name: str, kind: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            x = inputs[0]
            calls.append(
                LayerCall(
                    name=name,
                    kind=kind,
                    in_size=x.shape[-2],
                    out_size=output.shape[-2],
                    kernel_size=_first(module.kernel_size),
                    stride=_first(module.stride),
                    padding=_first(module.padding),
                    dilation=_first(module.dilation),
                    in_channels=x.shape[1],
                    out_channels=output.shape[1],
                )
            )

        return hook

    kinds = {nn.Conv2d: "conv", nn.MaxPool2d: "pool"}
    handles = [
        m.register_forward_hook(record(name, kinds[type(m)]))
        for name, m in model.named_modules()
        if type(m) in kinds
    ]
    try:
        with in_mode(model, training=False), torch.no_grad():
            model(torch.zeros(input_size, device=_device_of(model)))
    finally:
        for h in handles:
            h.remove()
    return calls


def model_receptive_field(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> ReceptiveField:
    """Receptive field of a ResNet's last feature map, from its traced layers.

    The field of a sum is the larger of its two branches' fields, and the residual
    branch (the convs) always sees more than the shortcut, so the shortcut's
    projection convs (``downsample``) are left out of the chain.

    Args:
        model: A ResNet (any model whose shortcut layers are named ``downsample``).
        input_size: Input shape used to trace the layers; it does not change the result.
    """
    chain = [c for c in trace_layers(model, input_size) if "downsample" not in c.name]
    if not chain:
        raise ValueError(f"{type(model).__name__} has no Conv2d or MaxPool2d layer: no receptive field")
    return receptive_field((c.kernel_size, c.stride, c.padding, c.dilation) for c in chain)


def measure_receptive_field(model: nn.Module, image_size: int) -> int:
    """Measure the receptive field by backpropagating from one output unit.

    A copy of the model is made linear and positive: every conv weight is 1, BatchNorm
    and ReLU pass values through, and max-pooling becomes average pooling over the
    same windows. Then no path can cancel or switch off another, and the input
    pixels with a non-zero gradient are exactly those the unit can see.

    Args:
        model: A `ResNet` or `CifarResNet` (its ``forward_features``: the layers before the
            pooling), or any stack of layers that outputs a feature map.
        image_size: Side of the square input; make it large enough that the chosen
            unit (the one nearest the centre) sees no padding.

    Returns:
        The number of input rows with a non-zero gradient.
    """
    check_module("model", model)
    check_int("image_size", image_size)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no Conv2d layer: no receptive field to measure")
    linear = copy.deepcopy(model).eval().double()
    for name, m in list(linear.named_modules()):
        if isinstance(m, nn.Conv2d):
            nn.init.ones_(m.weight)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()  # running mean 0, variance 1, weight 1, bias 0
        elif isinstance(m, nn.ReLU):
            m.forward = lambda x: x  # a ReLU would switch off negative paths
        elif isinstance(m, nn.MaxPool2d):
            m.forward = nn.AvgPool2d(m.kernel_size, m.stride, m.padding).forward  # same windows
    features = getattr(linear, "forward_features", linear)  # the feature map, before pooling
    x = torch.zeros(1, convs[0].in_channels, image_size, image_size, dtype=torch.float64, requires_grad=True)
    out = features(x)
    if out.dim() != 4:
        raise ValueError(
            f"the model must output a feature map (batch, channels, h, w), got {tuple(out.shape)}"
        )
    centre = out.shape[-1] // 2
    out[0, 0, centre, centre].backward()
    rows = x.grad[0].abs().sum(dim=(0, 2)).nonzero()
    if rows.min() == 0 or rows.max() == image_size - 1:  # the field reaches the border: clipped
        raise ValueError(f"image_size={image_size} is too small: the receptive field is cut by the border")
    return int(rows.max() - rows.min() + 1)


def saved_tensor_bytes(model: nn.Module, x: torch.Tensor, include_parameters: bool = True) -> int:
    """Bytes that autograd keeps from one forward pass for the backward pass.

    This is the memory of training that grows with the batch size, and the part of
    peak memory that differs between implementations of the same network. It is
    measured the same way on every device, so it also works on a CPU, where PyTorch
    has no allocator statistics. Tensors that share storage (in-place ops) are
    counted once.

    Args:
        model: The model, run once in its current mode (use train mode to measure
            training).
        x: The input batch.
        include_parameters: Count the weights that layers save too (a conv keeps its
            weight for the backward pass). ``False`` leaves only the activations.
    """
    check_module("model", model)
    check_tensor("x", x)
    check_bool("include_parameters", include_parameters)
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
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, layer_type: type[nn.Module] = nn.Conv2d
) -> list[tuple[str, float]]:
    """How much gradient reaches each layer: the norm of d(loss)/d(output) of every layer.

    The model is run once in train mode (as in training: BatchNorm uses the batch's
    statistics) on ``x``, the loss is the cross-entropy with labels ``y``, and one
    backward pass is made. The model is left as it was: parameters' ``.grad`` and
    BatchNorm's running statistics are restored.

    Args:
        model: A classifier that outputs (batch, classes) logits.
        x: An input batch.
        y: Class labels for the batch.
        layer_type: The layers to watch (default: every Conv2d).

    Returns:
        ``(name, gradient norm)`` for each watched layer, in the order the forward pass
        runs them (so the first entry is the layer nearest the input).
    """
    check_module("model", model)
    check_tensor("x", x)
    check_tensor("y", y)
    if y.dtype != torch.int64 or y.shape != x.shape[:1]:
        raise ValueError(
            f"y must hold one int64 class label per image of x, got {y.dtype} of shape {tuple(y.shape)}"
        )
    if not (isinstance(layer_type, type) and issubclass(layer_type, nn.Module)):
        raise TypeError(f"layer_type must be a layer class such as nn.Conv2d, got {layer_type!r}")
    order: list[str] = []
    grads: dict[str, float] = {}

    def watch(name: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            order.append(name)
            output.register_hook(lambda g: grads.__setitem__(name, g.norm().item()))

        return hook

    handles = [
        m.register_forward_hook(watch(n)) for n, m in model.named_modules() if isinstance(m, layer_type)
    ]
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
    if not order:
        raise ValueError(f"the model has no {layer_type.__name__} layer")
    return [(name, grads[name]) for name in order]
