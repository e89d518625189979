"""Argument checks shared by the library's modules.

A bad argument should fail at once, with a message that names the argument, the value
and what is allowed, before any torch internals fail somewhere deeper: a TypeError for
a value of the wrong type, a ValueError for a value of the right type that is not allowed.
Types are exact: a bool is not an int (``stride=True`` is a bug), and 18.0 is not 18.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

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
