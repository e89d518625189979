"""Naming the mistake in a learner's residual block, for `check_block`.

`explain` rebuilds the library block's forward with every misplacement of the ReLUs
and every wrong ending (no final ReLU, no shortcut, the ReLU before the addition) and
says which one the learner's output matches. `Calls` counts how often ``forward``
calls each layer, which names a shortcut left out or a layer run twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

IN_PLACE = (
    "your forward writes into its input x (an in-place operation: x += ..., or identity += out while "
    "identity is x, or self.relu(x)). In a network x is the previous layer's output, which autograd "
    "still needs for the backward pass. Add out of place (out = out + identity), or in place into the "
    "branch's output (out += identity)"
)
IN_PLACE_AUTOGRAD = (
    "the backward pass failed: a tensor that autograd saved for it was changed by an in-place operation "
    "(+=, *=, or a ReLU with inplace=True) after it was used. Write that step out of place, e.g. "
    "out = out + identity"
)


def pairs(block: Any) -> list[str]:
    return ["1", "2", "3"] if hasattr(block, "conv3") else ["1", "2"]


def _branch(block: Any, x: Any, orders: tuple[str, ...]) -> Any:
    """The residual branch of a library block with each conv/bn pair run in the given
    order: "cbr" (conv, bn, relu), "crb" (the ReLU before the BatchNorm) or "cb"."""
    import torch

    out = x
    for n, order in zip(pairs(block), orders):
        for step in order:
            layer = {"c": getattr(block, f"conv{n}"), "b": getattr(block, f"bn{n}"), "r": torch.relu}[step]
            out = layer(out)
    return out


def explain(ref: Any, x: Any, out: Any) -> str | None:
    """Name the mistakes that turn the library's forward into one that gives `out`.

    Tries every way of placing the ReLUs around each conv/bn pair and of ending the
    block (with or without the final ReLU, with or without the shortcut) on the
    library block `ref`, and describes the first one that matches.
    """
    import itertools

    import torch

    layer_pairs = pairs(ref)
    shortcut = x if ref.downsample is None else ref.downsample(x)
    inner = ["cbr", "crb", "cb"]
    last = ["cb", "cbr", "crb"]
    endings = ["relu(b + s)", "b + s", "relu(b)", "b"]
    for orders in itertools.product(*[inner] * (len(layer_pairs) - 1), last):
        branch = _branch(ref, x, orders)
        for ending in endings:
            if orders == tuple(["cbr"] * (len(layer_pairs) - 1) + ["cb"]) and ending == "relu(b + s)":
                continue  # the right forward: `out` differs from it
            candidate = {
                "relu(b + s)": lambda: torch.relu(branch + shortcut),
                "b + s": lambda: branch + shortcut,
                "relu(b)": lambda: torch.relu(branch),
                "b": lambda: branch,
            }[ending]()
            if candidate.shape == out.shape and torch.allclose(out, candidate, atol=1e-8, rtol=1e-6):
                return _describe(layer_pairs, orders, ending)
    return None


def _describe(names: list[str], orders: tuple[str, ...], ending: str) -> str:
    why = []
    for n, order in zip(names[:-1], orders[:-1]):
        if order == "crb":
            why.append(f"the ReLU after conv{n} comes before bn{n}: the order is conv -> bn -> relu")
        elif order == "cb":
            why.append(f"the ReLU after bn{n} is missing: every bn except the last is followed by self.relu")
    if orders[-1] == "crb":
        why.append(
            f"a ReLU sits between conv{names[-1]} and bn{names[-1]}: the last bn comes right after its conv"
        )
    if ending == "b + s" and orders[-1] == "cbr":
        why.append("the last ReLU comes before the addition: add, then ReLU")
    elif ending == "b + s":
        why.append("the final ReLU is missing: apply self.relu after adding the shortcut")
    elif ending == "relu(b)":
        why.append("the shortcut is missing: add the input (or self.downsample(x)) before the last ReLU")
    elif ending == "b":
        why.append("the shortcut and the final ReLU are missing: return relu(branch + shortcut)")
    elif orders[-1] == "cbr":
        why.append(
            f"there is a ReLU after bn{names[-1]}, before the addition: only the final ReLU follows it"
        )
    return "; ".join(why)


class Calls:
    """Counts the calls of a block's convs, BatchNorms and shortcut during one forward."""

    def __init__(self, block: Any) -> None:
        self.block = block
        self.counts: dict[str, int] = {}
        self.handles = []
        for name in [f"{kind}{n}" for n in pairs(block) for kind in ("conv", "bn")] + ["downsample"]:
            module = getattr(block, name, None)
            if module is not None:
                self.counts[name] = 0
                self.handles.append(module.register_forward_pre_hook(self._hook(name)))

    def _hook(self, name: str) -> Callable[..., None]:
        def hook(module: Any, inputs: Any) -> None:
            self.counts[name] += 1

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def problem(self) -> str | None:
        if self.counts.get("downsample") == 0:
            return "self.downsample is never called: the shortcut must go through it when it is not None"
        for name, n in self.counts.items():
            if n != 1:
                return f"self.{name} is called {n} times: call each layer once"
        return None


def record_calls(block: Any) -> Calls:
    return Calls(block)


def why_failed(error: Exception, calls: Calls, block: Any) -> str:
    """A hint for an error inside the learner's forward."""
    if not (isinstance(error, RuntimeError) and "must match" in str(error)):
        return ""
    if block.downsample is not None and calls.counts.get("downsample") == 0:
        return " The shortcut must go through self.downsample when it is not None: x has another shape."
    return " The branch and the shortcut have different shapes: check the strides and channels of each."
