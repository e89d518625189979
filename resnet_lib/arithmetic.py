"""Output-size arithmetic for convolution and pooling layers.

A convolution or pooling window of ``kernel_size`` taps, spaced ``dilation``
apart, really covers ``dilation * (kernel_size - 1) + 1`` input positions (its
*effective* size). Sliding it by ``stride`` over an input of ``size`` positions
padded with ``padding`` on each side gives, per spatial dimension, the formula
from the "Shape" sections of the PyTorch docs for ``torch.nn.Conv2d`` and
``torch.nn.MaxPool2d``::

    out = floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1

Why the floor? The ``+ 1`` counts the first window (at position 0); the
quotient counts how many more whole strides fit before the window would run
off the end of the padded input. A partial step does not give another full
window, so it is dropped: the last few input positions may never be seen.

Pooling can opt out of that with ``ceil_mode=True``: the division rounds up,
so one extra, partial window is kept. The ``torch.nn.MaxPool2d`` docs add the
exception: a window that would *start* in the right-hand padding is dropped,
because it would contain nothing but padding.

Everything here is plain Python on integers, so it can be used to plan a
network (e.g. 224 -> 112 -> 56 in a ResNet stem) without creating tensors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ReceptiveField", "conv_output_size", "pool_output_size", "receptive_field", "same_padding"]


def _check_ints(**args: int) -> None:
    """Check that every argument is a positive int (``padding`` may be 0).

    Checks run in the order the arguments are given, so the first bad one
    is reported.

    Raises:
        TypeError: If a value is not an int. ``bool`` is rejected although
            it is a subclass of int: ``stride=True`` is almost surely a bug.
        ValueError: If a value is below its minimum.
    """
    for name, value in args.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
        minimum = 0 if name == "padding" else 1
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _check_kernel_fits(size: int, kernel_size: int, padding: int, dilation: int, overhang: int = 0) -> None:
    """Raise ValueError unless at least one window fits the padded input.

    ``overhang`` is how far the window may stick out past the padded input
    (``stride - 1`` for pooling with ``ceil_mode=True``, else 0). This is
    exactly the condition for the output size to be at least 1.
    """
    effective = dilation * (kernel_size - 1) + 1
    padded = size + 2 * padding
    if padded + overhang < effective:
        message = (
            f"kernel of effective size {effective} (kernel_size={kernel_size}, "
            f"dilation={dilation}) does not fit the padded input of size "
            f"{padded} (size={size} + 2*padding with padding={padding})"
        )
        if overhang:
            message += f", even allowing ceil_mode's overhang of stride - 1 = {overhang}"
        raise ValueError(message)


def conv_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output size of a convolution along one spatial dimension.

    Matches ``torch.nn.Conv2d`` (and Conv1d/Conv3d) per dimension.

    Args:
        size: Input size (height or width), at least 1.
        kernel_size: Number of kernel taps, at least 1.
        stride: Step between windows, at least 1.
        padding: Zeros added on *each* side, at least 0.
        dilation: Spacing between kernel taps, at least 1.

    Returns:
        The output size, at least 1.

    Raises:
        TypeError: If an argument is not an int.
        ValueError: If an argument is out of range, or the (dilated) kernel
            does not fit the padded input.

    Example:
        >>> conv_output_size(224, kernel_size=7, stride=2, padding=3)
        112
    """
    _check_ints(size=size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    _check_kernel_fits(size, kernel_size, padding, dilation)
    # Python's // is floor division, i.e. the floor in the formula.
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def pool_output_size(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output size of max pooling along one spatial dimension.

    Matches ``torch.nn.MaxPool2d`` (and MaxPool1d/MaxPool3d) per dimension.

    Args:
        size: Input size (height or width), at least 1.
        kernel_size: Window size, at least 1.
        stride: Step between windows, at least 1. ``None`` (the default)
            means ``kernel_size``: non-overlapping windows, as in PyTorch.
        padding: Padding on *each* side, at least 0 and at most
            ``kernel_size // 2`` (PyTorch's rule, so that no window can
            consist of padding only).
        dilation: Spacing between window taps, at least 1.
        ceil_mode: Round up instead of down, keeping a partial last window,
            unless that window would start in the right-hand padding.

    Returns:
        The output size, at least 1.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range, or the (dilated) window
            does not fit the padded input.

    Example:
        >>> pool_output_size(112, kernel_size=3, stride=2, padding=1)
        56
    """
    if stride is None:
        stride = kernel_size
    _check_ints(size=size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    if not isinstance(ceil_mode, bool):
        raise TypeError(f"ceil_mode must be a bool, got {ceil_mode!r} ({type(ceil_mode).__name__})")
    if padding > kernel_size // 2:
        raise ValueError(
            f"padding must be at most kernel_size // 2 = {kernel_size // 2} for pooling, got {padding}"
        )
    _check_kernel_fits(size, kernel_size, padding, dilation, stride - 1 if ceil_mode else 0)

    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1  # ceil division, using floor division of negatives
    # The last window starts at (out - 1) * stride in padded coordinates. If
    # that is past the left padding and the input, it sees only padding: drop it.
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps the size unchanged for a stride-1 convolution.

    With stride 1 the formula gives ``size + 2*padding - dilation*(kernel_size - 1)``,
    so the size is kept when ``2*padding == dilation*(kernel_size - 1)``.

    Args:
        kernel_size: Number of kernel taps, at least 1.
        dilation: Spacing between kernel taps, at least 1.

    Returns:
        The padding for each side.

    Raises:
        TypeError: If an argument is not an int.
        ValueError: If an argument is below 1, or ``dilation*(kernel_size - 1)``
            is odd, so no symmetric padding exists.

    Example:
        >>> same_padding(3), same_padding(3, dilation=2)
        (1, 2)
    """
    _check_ints(kernel_size=kernel_size, dilation=dilation)
    total = dilation * (kernel_size - 1)
    if total % 2:
        raise ValueError(
            f"no symmetric padding keeps the size for kernel_size={kernel_size}, "
            f"dilation={dilation}: the total padding dilation*(kernel_size - 1) = "
            f"{total} is odd. PyTorch's padding='same' would pad asymmetrically "
            f"({total // 2} before, {total - total // 2} after)"
        )
    return total // 2


@dataclass(frozen=True)
class ReceptiveField:
    """Geometry of one output unit of a stack of layers, in input pixels.

    Output unit ``i`` sees input positions ``i*stride - padding`` to
    ``i*stride - padding + size - 1`` (positions below 0 are padding).
    """

    size: int  # how many input pixels one output unit sees
    stride: int  # how far apart neighbouring output units look (the total stride)
    padding: int  # how far the first unit's window starts before pixel 0


def receptive_field(layers: Iterable[tuple[int, int, int, int]]) -> ReceptiveField:
    """Receptive field of a chain of convolution/pooling layers.

    Walking from the input to the output, each layer with an effective kernel of
    ``dilation*(kernel_size - 1) + 1`` widens the field by ``(effective - 1)``
    steps of the current total stride (the *jump*), and multiplies the jump by
    its own stride. That is why late layers widen the field much more than early ones.

    Args:
        layers: ``(kernel_size, stride, padding, dilation)`` of each layer, input first.

    Returns:
        A `ReceptiveField`.

    Raises:
        TypeError, ValueError: If `layers` is not a sequence of 4-tuples of ints in range.

    Example:
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
        kernel_size, stride, pad, dilation = layer
        _check_ints(kernel_size=kernel_size, stride=stride, padding=pad, dilation=dilation)
        size += dilation * (kernel_size - 1) * jump
        padding += pad * jump
        jump *= stride
    return ReceptiveField(size, jump, padding)
