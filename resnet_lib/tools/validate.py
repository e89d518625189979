"""Argument checks shared by the library's modules.

A bad argument should fail at once, with a message that names the argument, the value
and what is allowed, before any torch internals fail somewhere deeper: a TypeError for
a value of the wrong type, a ValueError for a value of the right type that is not allowed.
Types are exact: a bool is not an int (``stride=True`` is a bug), and 18.0 is not 18.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
from collections.abc import Callable, Iterable
from typing import TypeVar

import torch


def check_int(name: str, value: object, minimum: int = 1) -> None:
    """Raise unless `value` is an int (a bool is not) of at least `minimum`."""
    allowed = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be {allowed}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def check_number(name: str, value: object, minimum: float = 0.0, strict: bool = False) -> None:
    """Raise unless `value` is a finite int or float (not a bool) >= `minimum` (> if `strict`)."""
    allowed = f"a finite number {'>' if strict else '>='} {minimum:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be {allowed}, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def check_one_of(name: str, value: object, allowed: Iterable[object]) -> None:
    """Raise ValueError unless `value` is one of `allowed`, of the same type (True is not 1)."""
    allowed = tuple(allowed)
    if not any(type(value) is type(a) and value == a for a in allowed):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def check_device(name: str, value: object) -> torch.device:
    """Return `value` as a `torch.device`, or raise if it is not one this machine has.

    Accepts a `torch.device` or a string such as "cpu", "cuda", "cuda:0" or "mps".
    """
    if not isinstance(value, (str, torch.device)):
        raise TypeError(f"{name} must be a torch.device or a string such as 'cpu' or 'cuda', got {value!r}")
    try:
        device = torch.device(value)
    except RuntimeError:
        raise ValueError(f"{name} must name a device such as 'cpu', 'cuda' or 'mps', got {value!r}") from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
        "meta": True,
    }
    if not available.get(device.type, False):
        raise ValueError(f"{name}={value!r}: this machine has no {device.type} device (try 'cpu')")
    return device


def check_bool(name: str, value: object) -> None:
    """Raise TypeError unless `value` is True or False (1, "yes" and None are not)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def check_module(name: str, value: object) -> None:
    """Raise TypeError unless `value` is a `torch.nn.Module` (a model, not its class or its outputs)."""
    if not isinstance(value, torch.nn.Module):
        hint = ": build one first, e.g. resnet18()" if isinstance(value, type) else ""
        raise TypeError(f"{name} must be a torch.nn.Module, got {value!r} ({type(value).__name__}){hint}")


def check_tensor(name: str, value: object) -> None:
    """Raise TypeError unless `value` is a `torch.Tensor` (a NumPy array or a list is not)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(value).__name__}: e.g. torch.as_tensor({name})"
        )


def check_shape(name: str, value: object, length: int | None, meaning: str) -> None:
    """Raise unless `value` is a tuple or list of `length` (None: any number but 0) positive
    ints, e.g. an input size; `meaning` says what they are, e.g. "(batch, channels, h, w)"."""
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be a tuple {meaning}, got {value!r} ({type(value).__name__})")
    if not value or (length is not None and len(value) != length):
        raise ValueError(f"{name} must be a tuple {meaning}, got {tuple(value)!r}")
    for i, size in enumerate(value):
        check_int(f"{name}[{i}]", size)


def check_path(name: str, value: object) -> None:
    """Raise TypeError unless `value` is a file path: a string or a `pathlib.Path`."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a file path (str or pathlib.Path), got {value!r} ({type(value).__name__})"
        )


F = TypeVar("F", bound=Callable)


def check_args(where: Callable[..., None] | None = None, **rules: int | type) -> Callable[[F], F]:
    """Decorator: check the named arguments on every call, so that the body is what it computes.

    A rule is the least int the argument may be (`check_int`) or `bool` (`check_bool`); an
    argument whose default is None may be None. Then `where(**arguments)`, if given, checks
    how they relate. E.g. ``@check_args(size=1, padding=0)``.
    """

    def decorate(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def checked(*args, **kwargs):
            arguments = signature.bind(*args, **kwargs)
            arguments.apply_defaults()
            for name, rule in rules.items():
                value = arguments.arguments[name]
                if value is None and signature.parameters[name].default is None:
                    continue
                if rule is bool:
                    check_bool(name, value)
                else:
                    check_int(name, value, minimum=rule)
            if where is not None:
                where(**arguments.arguments)
            return function(*args, **kwargs)

        return checked

    return decorate


# What a model's forward is given. Both checks only read a tensor's type, dtype and shape, so
# they cost nothing next to a conv and work as well under torch.compile and on the meta device.


def check_input(x: torch.Tensor, in_channels: int, dtype: torch.dtype = torch.float32) -> None:
    """Fail with a readable message where conv2d's would mislead (a NumPy array, integer
    pixels, float64 images for float32 weights). `dtype` is the weights' dtype; half
    precision passes, as autocast computes in it."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"expected a torch.Tensor of images, got {type(x).__name__}: e.g. torch.from_numpy(x).float()"
        )
    if not x.is_floating_point():
        raise TypeError(f"expected floating-point images, got dtype {x.dtype}: convert with x.float()")
    if x.dtype != dtype and x.dtype not in (torch.float16, torch.bfloat16):  # half: autocast's business
        raise TypeError(
            f"the images are {x.dtype} but the model's weights are {dtype}: convert with x.to({dtype})"
        )
    if x.dim() != 4 or x.shape[1] != in_channels:
        raise ValueError(
            f"expected an input of shape (batch, {in_channels}, height, width), got {tuple(x.shape)}"
        )


def check_features(x: torch.Tensor, channels: int) -> None:
    """What `forward_head` needs: a feature map of `channels` channels (a cheap check, as `check_input`)."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != channels:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"forward_head expects a feature map (batch, {channels}, h, w), got {got}")
