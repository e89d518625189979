"""Is our model the same function as the reference? A comparison that a wrong model fails.

Equal outputs at default initialisation prove little: there every BatchNorm is the
identity, a positive scale that commutes with ReLU, so a ReLU placed before its
BatchNorm gives the same outputs as one placed after it. `compare_models` therefore
randomises BatchNorm (`randomise_batchnorm`, some weights negative) and compares
outputs in both modes, every gradient and the updated running statistics.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from resnet_lib.tools.validate import check_bool, check_int, check_module, check_number, check_tensor

CHECKS = ("eval", "train", "gradients", "running_stats")  # what `compare_models` compares


def randomise_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm of `model` random statistics and affine parameters, in place.

    The values depend only on `seed` and the BatchNorms' names and sizes (drawn in the
    sorted order of the names): models with the same state-dict keys get the same values.
    """
    check_module("model", model)
    check_int("seed", seed, minimum=0)
    g = torch.Generator().manual_seed(seed)
    norms = {name: m for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}
    with torch.no_grad():
        for name in sorted(norms):
            m = norms[name]
            n = m.num_features
            if m.running_mean is not None:
                m.running_mean.copy_(0.5 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
            if m.affine:
                m.weight.copy_(torch.randn(n, generator=g))  # negative scales do not commute with ReLU
                m.bias.copy_(0.5 * torch.randn(n, generator=g))
    return model


@dataclass
class ProofReport:
    """What `compare_models` found: the largest |ours - reference| of each check."""

    eval: float  # the outputs in eval mode
    train: float  # the outputs in train mode
    gradients: float  # every parameter's gradient
    running_stats: float  # every BatchNorm buffer after the train step
    equal: bool  # every check within tolerance

    def differences(self) -> dict[str, float]:
        """The four largest differences by check name."""
        return {name: getattr(self, name) for name in CHECKS}


def _largest(
    pairs: list[tuple[Tensor | None, Tensor | None]], rtol: float, atol: float
) -> tuple[float, bool]:
    """Largest |a - b| over the pairs, and whether each pair is within atol + rtol * max|b|."""
    worst, ok = 0.0, True
    for a, b in pairs:
        if a is None and b is None:
            continue
        if a is None or b is None or a.shape != b.shape:  # a gradient missing on one side, say
            return float("inf"), False
        a, b = a.detach().double(), b.detach().double()
        diff = (a - b).abs().max().item() if a.numel() else 0.0
        scale = b.abs().max().item() if b.numel() else 0.0
        worst = max(worst, diff)
        ok = ok and diff <= atol + rtol * scale
    return worst, ok


def compare_models(
    ours: nn.Module,
    reference: nn.Module,
    x: Tensor,
    seed: int = 0,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    load_weights: bool = True,
) -> ProofReport:
    """Compare `ours` with `reference` as functions, on deep copies (both are left alone).

    The reference's copy gets `randomise_batchnorm(seed)`, and its state dict is loaded
    into ours with ``strict=True`` (unless ``load_weights=False``). On `x`: the outputs in
    eval and in train mode, every gradient of ``out.square().mean()``, the running stats.
    A tensor passes within ``atol + rtol * max|reference|``: a GPU may sum in another order.
    """
    check_module("ours", ours)
    check_module("reference", reference)
    check_tensor("x", x)
    if x.dim() < 2 or x.shape[0] < 2:
        raise ValueError(
            f"x must be a batch of at least 2 inputs (train-mode BatchNorm), got {tuple(x.shape)}"
        )
    check_int("seed", seed, minimum=0)
    check_number("rtol", rtol)
    check_number("atol", atol)
    check_bool("load_weights", load_weights)
    reference, ours = copy.deepcopy(reference), copy.deepcopy(ours)
    if load_weights:
        randomise_batchnorm(reference, seed)
        ours.load_state_dict(reference.state_dict(), strict=True)

    with torch.no_grad():
        eval_pairs = [(ours.eval()(x), reference.eval()(x))]
    train_pairs = []
    for model in (ours, reference):
        model.zero_grad(set_to_none=True)
        out = model.train()(x)
        out.square().mean().backward()
        train_pairs.append(out)
    mine, theirs = dict(ours.named_parameters()), dict(reference.named_parameters())
    grad_pairs = [
        (getattr(mine.get(k), "grad", None), getattr(theirs.get(k), "grad", None)) for k in mine | theirs
    ]
    buffers = dict(reference.named_buffers())
    stat_pairs = [(b, buffers.get(k)) for k, b in ours.named_buffers()]

    results = [
        _largest(pairs, rtol, atol) for pairs in (eval_pairs, [tuple(train_pairs)], grad_pairs, stat_pairs)
    ]
    return ProofReport(*(worst for worst, _ in results), equal=all(ok for _, ok in results))
