"""Output-size arithmetic for convolution and pooling layers (notebook 01).

A window of ``kernel_size`` taps spaced ``dilation`` apart, slid by ``stride`` over
``size`` positions padded with ``padding`` on each side, gives per dimension (the
"Shape" sections of the docs of ``torch.nn.Conv2d`` and ``torch.nn.MaxPool2d``)::

    out = floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1

The ``+ 1`` counts the first window, the quotient the whole strides that fit after it:
a partial step gives no full window, so the last input positions may never be seen.
Plain Python on integers: it plans a network (224 -> 112 -> 56) without a tensor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from resnet_lib.tools.validate import check_args, check_int


def _window_fits(
    size: int, kernel_size: int, stride: int | None, padding: int, dilation: int, ceil_mode=None
) -> None:
    """Refuse a window that fits nowhere (the output would be empty). Pooling (a `ceil_mode`)
    pads at most ``kernel_size // 2``, PyTorch's rule, so that no window is all padding."""
    if ceil_mode is not None and padding > kernel_size // 2:
        raise ValueError(
            f"padding must be at most kernel_size // 2 = {kernel_size // 2} for pooling, got {padding}"
        )
    effective = dilation * (kernel_size - 1) + 1
    overhang = (stride or kernel_size) - 1 if ceil_mode else 0
    if size + 2 * padding + overhang < effective:
        message = (
            f"kernel of effective size {effective} (kernel_size={kernel_size}, dilation={dilation})"
            f" does not fit the padded input of size {size + 2 * padding} (size={size} + 2*padding"
            f" with padding={padding})"
        )
        if overhang:
            message += f", even allowing ceil_mode's overhang of stride - 1 = {overhang}"
        raise ValueError(message)


@check_args(size=1, kernel_size=1, stride=1, padding=0, dilation=1, where=_window_fits)
def conv_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output size of a convolution along one dimension, as ``torch.nn.Conv2d``'s.

    >>> conv_output_size(224, kernel_size=7, stride=2, padding=3)
    112
    """
    # Python's // is floor division, i.e. the floor in the formula.
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


@check_args(size=1, kernel_size=1, stride=1, padding=0, dilation=1)
@check_args(ceil_mode=bool, where=_window_fits)  # checked after the above
def pool_output_size(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output size of max pooling along one dimension, as ``torch.nn.MaxPool2d``'s.

    ``stride=None`` means ``kernel_size``, as in PyTorch. ``ceil_mode=True`` keeps a
    last, partial window, unless it would start in the right-hand padding.

    >>> pool_output_size(112, kernel_size=3, stride=2, padding=1)
    56
    """
    stride = kernel_size if stride is None else stride
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1  # ceil division, using floor division of negatives
    # The last window starts at (out - 1) * stride in padded coordinates. If
    # that is past the left padding and the input, it sees only padding: drop it.
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out


@check_args(kernel_size=1, dilation=1)
def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps the size of a stride-1 convolution: with stride 1 the size changes
    by ``2*padding - dilation*(kernel_size - 1)``, so half of that, which must be even.

    >>> same_padding(3), same_padding(3, dilation=2)
    (1, 2)
    """
    total = dilation * (kernel_size - 1)
    if total % 2:
        raise ValueError(  # PyTorch's padding="same" pads the odd one more after
            f"no symmetric padding for kernel_size={kernel_size}, dilation={dilation}: the total"
            f" dilation*(kernel_size - 1) = {total} is odd ({total // 2} before, {total - total // 2} after)"
        )
    return total // 2


@dataclass(frozen=True)
class ReceptiveField:
    """Unit ``i`` sees input positions ``i*stride - padding`` to ``i*stride - padding + size - 1``."""

    size: int  # how many input pixels one output unit sees
    stride: int  # how far apart neighbouring output units look (the total stride)
    padding: int  # how far the first unit's window starts before pixel 0


def receptive_field(layers: Iterable[tuple[int, int, int, int]]) -> ReceptiveField:
    """Receptive field of a chain of ``(kernel_size, stride, padding, dilation)`` layers.

    Each layer widens the field by ``effective size - 1`` steps of the total stride so far
    (the *jump*), then multiplies the jump by its stride: late layers widen it most.

    >>> receptive_field([(7, 2, 3, 1), (3, 2, 1, 1)])  # a ResNet stem
    ReceptiveField(size=11, stride=4, padding=5)
    """
    if not isinstance(layers, Iterable) or isinstance(layers, str):
        raise TypeError(f"layers must be a list of (kernel_size, stride, padding, dilation), got {layers!r}")
    size, jump, padding = 1, 1, 0
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) != 4:
            raise ValueError(  # a 3-tuple is most likely a layer without its dilation
                f"layers[{i}] must be a tuple (kernel_size, stride, padding, dilation), got {layer!r}"
            )
        for name, value, minimum in zip(
            ("kernel_size", "stride", "padding", "dilation"), layer, (1, 1, 0, 1)
        ):
            check_int(f"layers[{i}] {name}", value, minimum)
        kernel_size, stride, pad, dilation = layer
        size += dilation * (kernel_size - 1) * jump
        padding += pad * jump
        jump *= stride
    return ReceptiveField(size, jump, padding)
