"""`check_block`: run a learner's residual block against the library's.

The learner subclasses `resnet_lib.blocks.BasicBlock` or `Bottleneck` and writes its
own ``forward``; the check loads the library block's weights into it and compares the
two in eval mode, in train mode and through a backward pass. Why a mismatch happened
is worked out in `block_mistakes`.
"""

from __future__ import annotations

import sys
from typing import Any

from resnet_lib.checks.block_mistakes import IN_PLACE, IN_PLACE_AUTOGRAD, explain, record_calls, why_failed
from resnet_lib.checks.core import NOT_WRITTEN, one_line
from resnet_lib.proofs import randomise_batchnorm


def check_block(learner_cls: type, seed: int = 0) -> bool:
    """See `_check_block`; the global random state is left as it was. Never raises."""
    import torch

    # One thread: on tensors this small, handing work to other threads costs far more than the work.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with torch.random.fork_rng(devices=[]):
        try:
            return _check_block(learner_cls, seed)
        except Exception as e:  # the learner's code can fail anywhere: report, never raise
            print(one_line(f"❌ Not yet: checking your block failed with {type(e).__name__}: {e}"))
            return False
        finally:
            torch.set_num_threads(threads)


def _say(text: str) -> None:
    """Print one line of the check's verdict (an error's message can span many lines)."""
    print(one_line(text))


def _bytecode(code: Any) -> tuple:
    """A code object's bytecode and the file it was compiled from, whatever its name or
    line: a library forward rebuilt with ``types.FunctionType`` or ``code.replace`` keeps
    them, while a learner's forward that reads the same as the library's comes from the
    learner's own cell, and passes."""
    return (code.co_code, code.co_consts, code.co_names, code.co_filename)


def _reference_forwards() -> dict[tuple, str]:
    """The bytecode of every block forward a learner might call instead of writing one."""
    from torchvision.models import resnet as tv

    from resnet_lib.blocks import BasicBlock, Bottleneck

    return {
        _bytecode(BasicBlock.forward.__code__): "the library's BasicBlock.forward",
        _bytecode(Bottleneck.forward.__code__): "the library's Bottleneck.forward",
        _bytecode(tv.BasicBlock.forward.__code__): "torchvision's BasicBlock.forward",
        _bytecode(tv.Bottleneck.forward.__code__): "torchvision's Bottleneck.forward",
    }


class Borrowed:
    """Watches one call of a learner's forward for a call of a library or torchvision forward.

    It only observes (with `sys.setprofile`, restored afterwards): the learner's code
    runs as written.
    """

    def __init__(self) -> None:
        self.forwards = _reference_forwards()
        self.seen: dict[Any, str | None] = {}  # code object -> what it is; each looked at once
        self.found: str | None = None

    def __enter__(self) -> Borrowed:
        self.previous = sys.getprofile()
        sys.setprofile(self._watch)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self.previous)

    def _watch(self, frame: Any, event: str, arg: Any) -> None:
        if event != "call" or self.found is not None:
            return
        code = frame.f_code
        if code not in self.seen:
            self.seen[code] = self.forwards.get(_bytecode(code))
        self.found = self.seen[code]


def _not_own_forward(learner_cls: type, reference: type) -> str | None:
    """Why `learner_cls` has no forward of its own, or None when it has one."""
    forward = learner_cls.__dict__.get("forward")
    name = learner_cls.__name__
    if forward is None:
        return (
            f"{name} does not define forward, so it runs the {reference.__name__}.forward it inherits: "
            "write your own forward in the class"
        )
    code = getattr(forward, "__code__", None)
    same = None if code is None else _reference_forwards().get(_bytecode(code))
    if same is not None:
        return f"{name}.forward is {same} itself: write your own forward"
    return None


def _borrowed(learner_cls: type, found: str) -> str:
    forward = learner_cls.__dict__["forward"]
    how = " through super()" if "super" in getattr(getattr(forward, "__code__", None), "co_names", ()) else ""
    return (
        f"your forward calls {found}{how}, so the check would test that one, not yours: "
        "compute the block yourself, with self.conv1, self.bn1, self.relu ... and self.downsample"
    )


def _check_block(learner_cls: type, seed: int = 0) -> bool:
    """Check a learner's block class against the library block it subclasses.

    The learner subclasses `resnet_lib.blocks.BasicBlock` or `Bottleneck` and writes
    its own ``forward``. For an identity-shortcut block, a stride-2 and a stride-1 block
    with a projection shortcut, and a stride-2 block
    with the parameter-free option-A shortcut, the check builds the library block with
    randomised BatchNorm statistics and affine parameters (at default init BatchNorm
    is a positive scale that commutes with ReLU, so a misplaced ReLU would not show),
    loads its weights into the learner's block and, in float64, compares:

    1. in eval mode: the output's shape and values, and that the input is unchanged;
    2. in train mode (batch statistics): the output and the updated running statistics;
    3. a backward pass: the gradients of the input and of every parameter.

    Only a ``forward`` that the learner's class defines itself, and that does not call
    the library's or torchvision's block forward (directly or through ``super()``),
    can pass: the check would otherwise test that forward, not the learner's.

    It prints one line: correct, not answered yet (``forward`` raises
    NotImplementedError), or the first mistake explained.

    Returns:
        True when the learner's block computes what the library's does.
    """
    import torch
    from torch import nn

    from resnet_lib.blocks import BasicBlock, Bottleneck, projection_shortcut
    from resnet_lib.cifar import PadShortcut

    reference = next(
        (c for c in getattr(learner_cls, "__mro__", ())[1:] if c in (BasicBlock, Bottleneck)), None
    )
    if not isinstance(learner_cls, type):
        _say(
            f"❌ Not yet: pass your class itself (a {type(learner_cls).__name__} instance was given); "
            "it must subclass BasicBlock or Bottleneck."
        )
        return False
    if reference is None:
        _say(f"❌ Not yet: {learner_cls.__name__} must subclass BasicBlock or Bottleneck.")
        return False
    why = _not_own_forward(learner_cls, reference)
    if why:
        _say(f"❌ Not yet: {why}.")
        return False
    # (what, in_channels, channels, stride, shortcut), named briefly: a message fits one line.
    if reference is BasicBlock:
        cases = [
            ("the 8 -> 8 identity block", 8, 8, 1, None),
            ("the 8 -> 16 projection block (stride 2)", 8, 16, 2, "projection"),
            ("the 8 -> 16 projection block (stride 1)", 8, 16, 1, "projection"),
            ("the 8 -> 16 option-A block (stride 2, no parameters)", 8, 16, 2, "A"),
        ]
    else:
        cases = [
            ("the 32 -> 32 identity block", 32, 8, 1, None),
            ("the 16 -> 32 projection block (stride 2)", 16, 8, 2, "projection"),
            ("the 8 -> 32 projection block (stride 1)", 8, 8, 1, "projection"),
            ("the 16 -> 32 option-A block (stride 2, no parameters)", 16, 8, 2, "A"),
        ]

    g = torch.Generator().manual_seed(seed)
    for case, (what, in_channels, channels, stride, kind) in enumerate(cases):
        out_channels = channels * reference.expansion

        def build(cls: type) -> Any:
            down = {
                None: lambda: None,
                "projection": lambda: projection_shortcut(in_channels, out_channels, stride),
                "A": lambda: PadShortcut(in_channels, out_channels, stride),
            }[kind]()
            return cls(in_channels, channels, stride, down)

        torch.manual_seed(seed)
        ref = build(reference)
        randomise_batchnorm(ref, seed=seed + case)
        ref.double().eval()
        try:
            mine = build(learner_cls)
            mine.double()
            mine.load_state_dict(ref.state_dict())
            mine.eval()
        except Exception as e:
            _say(f"❌ Not yet: building your block failed with {type(e).__name__}: {e}")
            return False
        for name, m in ref.named_modules():
            theirs = dict(mine.named_modules()).get(name)
            if isinstance(m, nn.Conv2d) and isinstance(theirs, nn.Conv2d) and theirs.stride != m.stride:
                _say(
                    f"❌ Not yet: on {what}, your {name} has stride {theirs.stride[0]} where the library's has "
                    f"{m.stride[0]}: the block's stride sits in "
                    f"{'conv2, the 3x3' if reference is Bottleneck else 'conv1'} (and the shortcut)."
                )
                return False
        x = torch.randn(4, in_channels, 8, 8, generator=g, dtype=torch.float64)

        # 1. Eval mode, no gradients: shape, values, and the input left alone.
        with torch.no_grad():
            expected = ref(x.clone())
            x_mine = x.clone()
            calls = record_calls(mine)
            try:
                with Borrowed() as borrowed:
                    out = mine(x_mine)
            except NotImplementedError:
                _say(NOT_WRITTEN)
                return False
            except Exception as e:
                _say(
                    f"❌ Not yet: on {what}, your forward raised {type(e).__name__}: {e}.{why_failed(e, calls, mine)}"
                )
                return False
            finally:
                calls.remove()
            if borrowed.found:
                _say(f"❌ Not yet: {_borrowed(learner_cls, borrowed.found)}.")
                return False
            if out is None:
                _say(
                    f"❌ Not yet: on {what}, your forward returned None: did you forget `return` "
                    "(return the block's output)?"
                )
                return False
            if not isinstance(out, torch.Tensor):
                _say(f"❌ Not yet: forward must return a tensor, it returned a {type(out).__name__}.")
                return False
            if not torch.equal(x_mine, x):
                _say(f"❌ Not yet: on {what}, {IN_PLACE}.")
                return False
            if out.shape != expected.shape:
                _say(
                    f"❌ Not yet: on {what}, an input of shape {tuple(x.shape)} gave {tuple(out.shape)}, "
                    f"expected {tuple(expected.shape)}. Run every conv/bn pair in order, and the "
                    "shortcut through self.downsample when there is one."
                )
                return False
            if not torch.allclose(out, expected, atol=1e-8, rtol=1e-6):
                # Layers called a wrong number of times explain it best, the shortcut above all;
                # other ways of calling them (F.relu, F.batch_norm) are fine when the output agrees.
                calls_problem = calls.problem()
                why = (
                    calls_problem if calls_problem and "downsample" in calls_problem else explain(ref, x, out)
                )
                why = why or calls_problem
                if why is None:
                    error = (out - expected).abs().max().item()
                    why = f"the output differs from the library block's by up to {error:.3g}: " + (
                        # Case 0, the identity block, agreed: what differs is the shortcut.
                        "the identity block agreed, so check the shortcut: self.downsample(x), on the block's input"
                        if kind is not None
                        else "check the branch (conv -> bn -> relu) and that x itself is added, before the last ReLU"
                    )
                _say(f"❌ Not yet: on {what}, {why}.")
                return False

        # 2. Train mode, with gradients: BatchNorm on batch statistics, then backward.
        ref.train()
        mine.train()
        leaf_ref = x.clone().requires_grad_()
        leaf_mine = x.clone().requires_grad_()
        expected = ref(leaf_ref.clone())  # a non-leaf input, like a layer's output in a network
        x_mine = leaf_mine.clone()
        try:
            with Borrowed() as borrowed:
                out = mine(x_mine)
        except Exception as e:
            _say(f"❌ Not yet: on {what}, in train mode your forward raised {type(e).__name__}: {e}.")
            return False
        if borrowed.found:
            _say(f"❌ Not yet: {_borrowed(learner_cls, borrowed.found)}.")
            return False
        if not torch.equal(x_mine.detach(), x):
            _say(f"❌ Not yet: on {what}, in train mode {IN_PLACE}.")
            return False
        if not isinstance(out, torch.Tensor) or out.shape != expected.shape:
            _say(f"❌ Not yet: on {what}, in train mode forward returned something else than in eval mode.")
            return False
        if not torch.allclose(out.detach(), expected.detach(), atol=1e-8, rtol=1e-6):
            _say(
                f"❌ Not yet: on {what}, in train mode the output differs from the library block's (eval mode "
                "agreed): call every BatchNorm as a module, self.bnN(...), once, so that it normalises with "
                "the batch's statistics in training."
            )
            return False
        for (name, buf), theirs in zip(ref.named_buffers(), mine.buffers()):
            if not torch.allclose(buf, theirs):
                _say(
                    f"❌ Not yet: on {what}, in train mode {name} was updated differently: call each BatchNorm once."
                )
                return False
        grad_out = torch.randn(expected.shape, generator=g, dtype=torch.float64)
        expected.backward(grad_out)
        if not out.requires_grad:
            _say(
                f"❌ Not yet: on {what}, your output has no gradient: do not use torch.no_grad(), .detach() "
                "or .data in forward."
            )
            return False
        try:
            out.backward(grad_out)
        except RuntimeError as e:
            if "inplace" in str(e):
                _say(f"❌ Not yet: on {what}, {IN_PLACE_AUTOGRAD}.")
            else:
                _say(f"❌ Not yet: on {what}, the backward pass failed with {type(e).__name__}: {e}")
            return False
        grads = [("the input", leaf_ref.grad, leaf_mine.grad)] + [
            (name, p.grad, q.grad) for (name, p), q in zip(ref.named_parameters(), mine.parameters())
        ]
        for name, theirs, yours in grads:
            if yours is None or not torch.allclose(theirs, yours, atol=1e-8, rtol=1e-6):
                _say(
                    f"❌ Not yet: on {what}, the gradient of {name} differs from the library block's "
                    "(the outputs agreed): do not use .detach(), .data or torch.no_grad() in forward."
                )
                return False
    _say(
        f"✅ Correct: your forward computes what {reference.__name__}.forward does, with and without a projection."
    )
    return True
