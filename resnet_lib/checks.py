"""Self-checks for the notebooks' exercises.

A check never raises: an exercise that is not answered yet, or answered with the
wrong type, gets a message, so a notebook always runs from top to bottom.
"""

from __future__ import annotations

from typing import Any

NOT_ANSWERED = "⏳ Not answered yet: replace the None with your answer and run the cell again."
NOT_WRITTEN = (
    "⏳ Not answered yet: write forward (in place of `raise NotImplementedError`) and run the cell again."
)


def check(answer: Any, expected: Any, hint: str = "") -> bool:
    """Compare a learner's answer with the expected one and say so in one line.

    Args:
        answer: What the learner wrote; ``None`` (or ``...``) means not answered yet.
        expected: The right answer, usually computed with the library.
        hint: Shown when the answer is wrong: a nudge, not the answer.

    Returns:
        True when the answer is right.
    """
    if answer is None or answer is Ellipsis:
        print(NOT_ANSWERED)
        return False
    try:
        correct = bool(answer == expected)
    except Exception:  # e.g. comparing a tensor with a tuple: just "not equal"
        correct = False
    if correct:
        print(f"✅ Correct: {expected!r}.")
    else:
        print(f"❌ Not yet: you answered {answer!r}. {hint}".rstrip())
    return correct


def _randomise_batchnorm(block: Any, generator: Any) -> None:
    """Give every BatchNorm non-trivial statistics and affine parameters, so that a
    missing layer or a misplaced ReLU changes the output (and outputs go negative)."""
    import torch
    from torch import nn

    for m in block.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(c, generator=generator))
                m.bias.copy_(0.5 * torch.randn(c, generator=generator))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=generator))
                m.running_var.copy_(0.5 + torch.rand(c, generator=generator))


def _branch(block: Any, x: Any, inner_relu: bool = True) -> Any:
    """The residual branch F(x) of a library block, built from its own layers."""
    import torch

    names = ["1", "2", "3"] if hasattr(block, "conv3") else ["1", "2"]
    out = x
    for i, n in enumerate(names):
        out = getattr(block, f"bn{n}")(getattr(block, f"conv{n}")(out))
        if inner_relu and i < len(names) - 1:
            out = torch.relu(out)
    return out


def check_block(learner_cls: type, seed: int = 0) -> bool:
    """See `_check_block`; the global random state is left as it was."""
    import torch

    with torch.random.fork_rng(devices=[]):
        return _check_block(learner_cls, seed)


def _check_block(learner_cls: type, seed: int = 0) -> bool:
    """Check a learner's block class against the library block it subclasses.

    The learner subclasses `resnet_lib.blocks.BasicBlock` or `Bottleneck` and writes
    its own ``forward``. For a block with the identity shortcut and one with a
    projection shortcut (stride 2, more channels), the check builds the library block,
    loads its weights into the learner's block, runs both in eval mode on the same
    input and compares the outputs. It prints one line: correct, not answered yet
    (``forward`` raises NotImplementedError or returns None), or the first mismatch
    explained (an error, the output shape, a missing ReLU, the ReLU before the
    addition, a missing shortcut). It never raises.

    Returns:
        True when the learner's block computes what the library's does.
    """
    import torch

    from .blocks import BasicBlock, Bottleneck, projection_shortcut

    reference = next(
        (c for c in getattr(learner_cls, "__mro__", ())[1:] if c in (BasicBlock, Bottleneck)), None
    )
    if reference is None:
        print(
            f"❌ Not yet: {getattr(learner_cls, '__name__', learner_cls)!s} must subclass BasicBlock or Bottleneck."
        )
        return False
    if reference is BasicBlock:
        cases = [
            ("an identity-shortcut block (8 -> 8 channels)", 8, 8, 1),
            ("a projection block (8 -> 16 channels, stride 2)", 8, 16, 2),
        ]
    else:
        cases = [
            ("an identity-shortcut block (32 -> 32 channels)", 32, 8, 1),
            ("a projection block (16 -> 32 channels, stride 2)", 16, 8, 2),
        ]

    g = torch.Generator().manual_seed(seed)
    for what, in_channels, channels, stride in cases:
        out_channels = channels * reference.expansion
        needs_projection = stride != 1 or in_channels != out_channels

        def build(cls: type) -> Any:
            down = projection_shortcut(in_channels, out_channels, stride) if needs_projection else None
            return cls(in_channels, channels, stride, down)

        torch.manual_seed(seed)
        ref = build(reference)
        _randomise_batchnorm(ref, g)
        ref.eval()
        try:
            mine = build(learner_cls)
            mine.load_state_dict(ref.state_dict())
            mine.eval()
        except Exception as e:
            print(f"❌ Not yet: building your block failed with {type(e).__name__}: {e}")
            return False
        x = torch.randn(4, in_channels, 8, 8, generator=g)
        with torch.no_grad():
            expected = ref(x.clone())
            try:
                out = mine(x.clone())
            except NotImplementedError:
                print(NOT_WRITTEN)
                return False
            except Exception as e:
                hint = ""
                if needs_projection and isinstance(e, RuntimeError) and "must match" in str(e):
                    hint = " The shortcut must go through self.downsample when it is not None: x has another shape."
                print(f"❌ Not yet: on {what}, your forward raised {type(e).__name__}: {e}.{hint}")
                return False
            if out is None:
                print(
                    NOT_WRITTEN if what == cases[0][0] else f"❌ Not yet: on {what}, forward returned None."
                )
                return False
            if not isinstance(out, torch.Tensor):
                print(f"❌ Not yet: forward must return a tensor, it returned a {type(out).__name__}.")
                return False
            if out.shape != expected.shape:
                print(
                    f"❌ Not yet: on {what}, an input of shape {tuple(x.shape)} gave {tuple(out.shape)}, "
                    f"expected {tuple(expected.shape)}. Run every conv/bn pair in order, and the "
                    "shortcut through self.downsample when there is one."
                )
                return False
            if torch.allclose(out, expected, atol=1e-5, rtol=1e-4):
                continue

            shortcut = x if ref.downsample is None else ref.downsample(x)
            branch = _branch(ref, x)
            close = lambda t: torch.allclose(out, t, atol=1e-5, rtol=1e-4)  # noqa: E731
            if close(branch + shortcut):
                why = "the final ReLU is missing: apply self.relu after adding the shortcut"
            elif close(torch.relu(branch) + shortcut):
                why = "the last ReLU comes before the addition: add the shortcut first, then apply the ReLU"
            elif close(torch.relu(branch)):
                why = "the shortcut is missing: add the input (or self.downsample(x)) before the last ReLU"
            elif close(torch.relu(_branch(ref, x, inner_relu=False) + shortcut)):
                why = "a ReLU inside the branch is missing: every bn except the last is followed by self.relu"
            elif (out < 0).any():
                why = "the output has negative values, so the final ReLU (after the addition) is missing"
            else:
                error = (out - expected).abs().max().item()
                why = f"the output differs from the library block's by up to {error:.3g}: check the order conv -> bn -> relu"
            print(f"❌ Not yet: on {what}, {why}.")
            return False
    print(
        f"✅ Correct: your forward computes what {reference.__name__}.forward does, with and without a projection."
    )
    return True
