"""Argument checks shared by the library's modules.

A bad argument should fail at once, with a message that names the argument, the value
and what is allowed, before any torch internals fail somewhere deeper.
"""

from __future__ import annotations

from collections.abc import Iterable


def check_int(name: str, value: object, minimum: int = 1) -> None:
    """Raise ValueError unless `value` is an int (a bool is not) of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        allowed = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def check_one_of(name: str, value: object, allowed: Iterable[object]) -> None:
    """Raise ValueError unless `value` is one of `allowed`."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
