"""The exercises' self-checks accept the right answers and reject the typical wrong ones.

Each mistake that WORKSHOP.md says an exercise catches is fed to that exercise's check
here (notebook 03's in tests/test_checks_nb03.py), and must be rejected with its own message.
"""

import inspect
import statistics
import textwrap
import time
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet as tv_resnet

from resnet_lib.blocks import BasicBlock, Bottleneck
from resnet_lib.checks import EXERCISES, NOT_ANSWERED, check, check_block


def run(capsys, *args):
    ok = check(*args)
    return ok, capsys.readouterr().out


# --- check_block --------------------------------------------------------------------


def _shortcut(block, x):
    return x if block.downsample is None else block.downsample(x)


class BasicRight(BasicBlock):
    def forward(self, x):
        identity = _shortcut(self, x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class BasicRightInPlaceIntoBranch(BasicBlock):
    def forward(self, x):  # += into the branch's output, as the library does: allowed
        identity = _shortcut(self, x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        out += identity
        return self.relu(out)


class BottleneckRight(Bottleneck):
    def forward(self, x):
        identity = _shortcut(self, x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


def basic(branch, ending):
    """A BasicBlock whose forward runs `branch(self, x)` and ends with `ending(self, out, identity)`."""

    class Block(BasicBlock):
        def forward(self, x):
            return ending(self, branch(self, x), _shortcut(self, x))

    return Block


def bottleneck(branch, ending):
    class Block(Bottleneck):
        def forward(self, x):
            return ending(self, branch(self, x), _shortcut(self, x))

    return Block


basic_branch = lambda b, x: b.bn2(b.conv2(b.relu(b.bn1(b.conv1(x)))))  # noqa: E731
neck_branch = lambda b, x: b.bn3(b.conv3(b.relu(b.bn2(b.conv2(b.relu(b.bn1(b.conv1(x))))))))  # noqa: E731
right_end = lambda b, out, s: b.relu(out + s)  # noqa: E731


class BasicInPlaceIdentity(BasicBlock):
    def forward(self, x):
        identity = _shortcut(self, x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity += out  # identity is x in an identity block: writes into the input
        return self.relu(identity)


class BottleneckInPlaceX(Bottleneck):
    def forward(self, x):
        out = self.bn3(self.conv3(self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))))
        if self.downsample is not None:
            return self.relu(out + self.downsample(x))
        x += out
        return self.relu(x)


class BasicNoDownsample(BasicBlock):
    def forward(self, x):
        return self.relu(basic_branch(self, x) + x)


class BottleneckWrongStrideConv(Bottleneck):
    def forward(self, x):  # the 3x3 conv run without its stride
        identity = _shortcut(self, x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = F.conv2d(out, self.conv2.weight, padding=1)
        out = self.relu(self.bn2(out))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class BottleneckV1(Bottleneck):
    """The stride in the first 1x1 conv (the paper's released models), not the 3x3."""

    def __init__(self, in_channels, channels, stride=1, downsample=None):
        super().__init__(in_channels, channels, stride, downsample, stride_in_1x1=True)

    forward = BottleneckRight.forward


class BasicInPlaceAfterUse(BasicBlock):
    def forward(self, x):  # right values, but changes a tensor conv2 saved for backward
        identity = _shortcut(self, x)
        hidden = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(hidden))
        hidden.mul_(1.0)
        return self.relu(out + identity)


class BasicDetached(BasicBlock):
    def forward(self, x):
        identity = _shortcut(self, x)
        out = self.relu(self.bn1(self.conv1(x))).detach()
        return self.relu(self.bn2(self.conv2(out)) + identity)


class BasicEvalBatchNorm(BasicBlock):
    def forward(self, x):  # always the running statistics: right in eval mode only
        identity = _shortcut(self, x)
        bn = lambda m, t: F.batch_norm(t, m.running_mean, m.running_var, m.weight, m.bias)  # noqa: E731
        out = self.relu(bn(self.bn1, self.conv1(x)))
        return self.relu(bn(self.bn2, self.conv2(out)) + identity)


class BasicPlaceholder(BasicBlock):
    def forward(self, x):
        raise NotImplementedError


class BottleneckReturnsNone(Bottleneck):
    def forward(self, x):
        pass


class BasicForgetsReturn(BasicBlock):
    def forward(self, x):  # the whole block, but no `return`
        identity = _shortcut(self, x)
        out = self.relu(self.bn1(self.conv1(x)))
        self.relu(self.bn2(self.conv2(out)) + identity)


class BasicEmpty(BasicBlock):
    pass


class BottleneckEmpty(Bottleneck):
    pass


class BasicSuper(BasicBlock):
    def forward(self, x):
        return super().forward(x)


class BottleneckSuper(Bottleneck):
    def forward(self, x):
        out = super().forward(x)
        return out


class BasicCallsLibrary(BasicBlock):
    def forward(self, x):
        return BasicBlock.forward(self, x)


class BasicTorchvision(BasicBlock):
    def forward(self, x):
        return tv_resnet.BasicBlock.forward(self, x)


class BottleneckTorchvision(Bottleneck):
    def forward(self, x):
        return tv_resnet.Bottleneck.forward(self, x)


class BasicAssigned(BasicBlock):
    forward = BasicBlock.forward


class BasicRebuilt(BasicBlock):
    # The library's forward rebuilt from its code object under another name and line.
    forward = types.FunctionType(
        BasicBlock.forward.__code__.replace(co_name="mine", co_firstlineno=1), BasicBlock.forward.__globals__
    )


_rebuilt_bottleneck = types.FunctionType(
    Bottleneck.forward.__code__.replace(co_name="helper"), Bottleneck.forward.__globals__
)


class BottleneckCallsRebuilt(Bottleneck):
    def forward(self, x):
        return _rebuilt_bottleneck(self, x)


def _written_like_the_library(block: type) -> type:
    """A learner's class whose forward reads line for line as the library's, typed in a cell."""
    lines = textwrap.indent(textwrap.dedent(inspect.getsource(block.forward)), "    ")
    cell = f"class Mine({block.__name__}):\n{lines}"
    namespace = {block.__name__: block, "Tensor": torch.Tensor}
    exec(compile(cell, "<ipython-input-1>", "exec"), namespace)
    return namespace["Mine"]


class BasicSuperInTraining(BasicBlock):
    def forward(self, x):  # its own computation in eval mode, the library's in training
        if self.training:
            return super().forward(x)
        return BasicRight.forward(self, x)


class BasicRaises(BasicBlock):
    def forward(self, x):
        return self.conv1(x.flatten())  # a shape error


RIGHT = [
    BasicRight,
    BasicRightInPlaceIntoBranch,
    BottleneckRight,
    # the same lines as the library, written by the learner: their own work, accepted
    _written_like_the_library(BasicBlock),
    _written_like_the_library(Bottleneck),
]


class BasicShortcutByStride(BasicBlock):
    def forward(self, x):  # a projection is not only for stride 2: it also widens at stride 1
        identity = x if self.conv1.stride == (1, 1) else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class BasicDownsampleAfterRelu(BasicBlock):
    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(torch.relu(x))
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


WRONG = {
    "ReLU before BN (BasicBlock)": (
        basic(lambda b, x: b.bn2(b.conv2(b.bn1(b.relu(b.conv1(x))))), right_end),
        "the ReLU after conv1 comes before bn1",
    ),
    "ReLU before BN (Bottleneck, 3x3)": (
        bottleneck(lambda b, x: b.bn3(b.conv3(b.bn2(b.relu(b.conv2(b.relu(b.bn1(b.conv1(x)))))))), right_end),
        "the ReLU after conv2 comes before bn2",
    ),
    "inner ReLU missing (Bottleneck)": (
        bottleneck(lambda b, x: b.bn3(b.conv3(b.relu(b.bn2(b.conv2(b.bn1(b.conv1(x))))))), right_end),
        "the ReLU after bn1 is missing",
    ),
    "final ReLU missing (BasicBlock)": (
        basic(basic_branch, lambda b, out, s: out + s),
        "final ReLU is missing",
    ),
    "final ReLU missing (Bottleneck)": (
        bottleneck(neck_branch, lambda b, out, s: out + s),
        "final ReLU is missing",
    ),
    "ReLU before the addition (BasicBlock)": (
        basic(basic_branch, lambda b, out, s: b.relu(out) + s),
        "the last ReLU comes before the addition",
    ),
    "ReLU before the addition (Bottleneck)": (
        bottleneck(neck_branch, lambda b, out, s: torch.relu(out) + s),
        "the last ReLU comes before the addition",
    ),
    "ReLU after bn2 and after the addition": (
        basic(basic_branch, lambda b, out, s: b.relu(torch.relu(out) + s)),
        "there is a ReLU after bn2, before the addition",
    ),
    "shortcut missing": (basic(basic_branch, lambda b, out, s: b.relu(out)), "the shortcut is missing"),
    "identity += out (identity is x)": (BasicInPlaceIdentity, "writes into its input x"),
    "x += out": (BottleneckInPlaceX, "writes into its input x"),
    "forgot the downsample": (BasicNoDownsample, "self.downsample"),
    "shortcut chosen by the stride": (BasicShortcutByStride, "on the 8 -> 16 projection block (stride 1)"),
    "the shortcut on relu(x)": (BasicDownsampleAfterRelu, "the identity block agreed, so check the shortcut"),
    "stride on the wrong conv (v1 layout)": (BottleneckV1, "conv1 has stride 2 where the library's has 1"),
    "stride left out of the 3x3 conv": (BottleneckWrongStrideConv, "different shapes: check the strides"),
    "in-place change of a tensor saved for backward": (
        BasicInPlaceAfterUse,
        "changed by an in-place operation",
    ),
    "detached branch": (BasicDetached, "the gradient of"),
    "BatchNorm on running statistics in training": (BasicEvalBatchNorm, "in train mode the output differs"),
    "not written": (BasicPlaceholder, "Not answered yet"),
    "returns None": (BottleneckReturnsNone, "forget `return`"),
    "forgets return": (BasicForgetsReturn, "returned None: did you forget `return`"),
    "empty subclass (BasicBlock)": (BasicEmpty, "does not define forward, so it runs the BasicBlock.forward"),
    "empty subclass (Bottleneck)": (BottleneckEmpty, "does not define forward"),
    "super().forward": (BasicSuper, "calls the library's BasicBlock.forward through super()"),
    "super().forward (Bottleneck)": (
        BottleneckSuper,
        "calls the library's Bottleneck.forward through super()",
    ),
    "BasicBlock.forward(self, x)": (BasicCallsLibrary, "calls the library's BasicBlock.forward,"),
    "torchvision's forward": (BasicTorchvision, "calls torchvision's BasicBlock.forward"),
    "torchvision's forward (Bottleneck)": (BottleneckTorchvision, "calls torchvision's Bottleneck.forward"),
    "forward = BasicBlock.forward": (BasicAssigned, "is the library's BasicBlock.forward itself"),
    "the library's forward rebuilt from its code": (
        BasicRebuilt,
        "is the library's BasicBlock.forward itself",
    ),
    "calls a rebuilt library forward": (BottleneckCallsRebuilt, "calls the library's Bottleneck.forward"),
    "super() in train mode only": (BasicSuperInTraining, "through super()"),
    "raises": (BasicRaises, "your forward raised RuntimeError"),
    "not a block": (nn.Module, "must subclass"),
    "an instance, not a class": (BasicRight(8, 8), "pass your class itself"),
}


@pytest.mark.parametrize("cls", RIGHT, ids=lambda c: c.__name__)
def test_check_block_accepts_right_forwards(cls, capsys):
    state = torch.get_rng_state()
    assert check_block(cls) is True
    assert "✅ Correct: your forward computes what" in capsys.readouterr().out
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("mistake", WRONG)
def test_check_block_rejects_each_mistake_with_its_message(mistake, capsys):
    cls, message = WRONG[mistake]
    state = torch.get_rng_state()
    assert check_block(cls) is False
    out = capsys.readouterr().out
    assert message in out, out
    assert out.count("\n") == 1, out  # one line
    assert torch.equal(state, torch.get_rng_state())


def test_check_block_keeps_notebook_02s_messages(capsys):
    # Notebook 02's stored outputs show these lines: each fits one line of a 900 px column.
    assert not check_block(WRONG["ReLU before the addition (BasicBlock)"][0])
    assert capsys.readouterr().out == (
        "❌ Not yet: on the 8 -> 8 identity block, the last ReLU comes before the addition: add, then ReLU.\n"
    )
    assert not check_block(BasicPlaceholder)
    assert capsys.readouterr().out == (
        "⏳ Not answered yet: write forward in place of `raise NotImplementedError` and run the cell.\n"
    )
    assert check_block(BottleneckRight)
    assert capsys.readouterr().out == (
        "✅ Correct: your forward computes what Bottleneck.forward does, with and without a projection.\n"
    )


def test_check_block_would_miss_relu_before_bn_at_default_init(capsys):
    """Why BatchNorm is randomised: at default init a ReLU before BN gives the same output."""
    cls = WRONG["ReLU before BN (BasicBlock)"][0]
    torch.manual_seed(0)
    ref, mine = BasicBlock(8, 8).eval(), cls(8, 8).eval()
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(2, 8, 8, 8)
    with torch.no_grad():
        assert torch.allclose(ref(x), mine(x))
    assert not check_block(cls)


# --- exercises by id ------------------------------------------------------------------


def right_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def output_size_from_torch(size, kernel_size, stride=1, padding=0, dilation=1):
    x, w = torch.empty(1, 1, size, device="meta"), torch.empty(1, 1, kernel_size, device="meta")
    return F.conv1d(x, w, stride=stride, padding=padding, dilation=dilation).shape[-1]


def output_size_from_the_library(*args):
    from resnet_lib.arithmetic import conv_output_size as size_of  # an alias

    return size_of(*args)


def output_size_through_a_helper(*args):
    return output_size_from_the_library(*args)


def the_library_output_size():
    from resnet_lib.arithmetic import conv_output_size

    return conv_output_size


# id -> (right answers, [(typical wrong answer, part of its message)])
CASES = {
    "01.1": (
        [(57, 58), (np.int64(57), np.int64(58))],
        [
            ((59, 60), "+ 1 is missing"),
            ((61, 62), "padding is missing"),
            ((57, 57), "what does the next width give?"),
            ((58, 58), "and the one before?"),
            ((57.0, 58.0), "use //"),
            ((57, 58.0), "has a float in it"),  # int and float mixed
            ((57.5, 58), "not a whole number"),
            (29, "a tuple of 2 ints"),
            ("57, 58", "a tuple of 2 ints"),
        ],
    ),
    "01.2": (
        [6, np.int64(6)],
        [
            (4, "the span is d(k - 1) + 1, not d·k"),
            (5, "spans 11 cells and gives 10, not 8"),
            (10, "more than the 20 of the input"),
            (0, "an int of at least 1"),
            (6.0, "an int of at least 1"),
        ],
    ),
    "01.3": (
        [right_output_size],
        [
            (lambda i, k, s, p, d: (i + 2 * p - k) // s + 1, "ignores the dilation"),
            (lambda i, k, s, p, d: (i + 2 * p - d * (k - 1) - 1) // s, "the + 1 is missing"),
            (lambda i, k, s, p, d: -(-(i + 2 * p - d * (k - 1) - 1) // s) + 1, "it rounds up"),
            (lambda i, k, s, p, d: (i + p - d * (k - 1) - 1) // s + 1, "adds the padding once"),
            (lambda i, k, s, p, d: (i + 2 * p - d * k) // s + 1, "not d·k"),
            (lambda i, k, s, p, d: (i + 2 * p - d * (k - 1) - 1) / s + 1, "use // so the size is an int"),
            (lambda i, k, s, p, d: 1, "wrong on"),
            (lambda i, k, s, p, d: None, "returned None"),
            (lambda i, k: 1, "raised TypeError"),
            (7, "pass your function itself"),
            (the_library_output_size(), "is the library's conv_output_size, so the check would test"),
            (output_size_from_torch, "uses the module torch.nn.functional"),
            (output_size_from_the_library, "uses the library's conv_output_size"),
            (output_size_through_a_helper, "uses the library's conv_output_size"),
            (lambda *a: nn.Conv1d(1, 1, *a[1:])(torch.zeros(1, 1, a[0])).shape[-1], "the module torch.nn"),
        ],
    ),
    "01.4": (
        [(3, 3, 0), (5, 3, 2), (4, 3, 1), (39, 1, 0), (np.int64(3), 3, 0)],
        [
            ((1, 3, 0), "never read"),
            ((2, 3, 0), "smaller than the stride"),
            ((3, 3, 1), "the floor drops the next one"),
            ((3, 2, 1), "gives 29, not 19"),
            ((1, 4, 8), "more than (k - 1)/2"),
            ((3, 3), "three ints"),
            ((80, 1, 0), "not a valid convolution"),
            ((3, 3, 1), "1 of the 57 columns is never read"),
            ((np.int64(3), np.int64(3), np.int64(1)), "is never read"),
        ],
    ),
    "01.5": (
        [(3, 4), (np.int64(3), 4)],
        [
            ((4, 4), "starts in the right padding is dropped"),
            ((3, 3), "the floor for both"),
            (5, "a tuple of 2 ints"),
            ((3.0, 4.0), "use //"),
            ((3, 4.0), "has a float in it"),
        ],
    ),
    "01.6": (
        [(5, 3), (3, 6), (4, 4), (7, 2)],
        [
            ((4, 3), "not d·k"),
            ((3, 4), "gives 32, not 28"),
            ((13, 1), "a dilation of at least 2"),
            ((3, 20), "more than the padded input"),
            (6, "a tuple of two ints"),
        ],
    ),
    "01.7": ([8], [(7, "7 → 3")]),
    "01.8": (
        [(209, 224)],
        [
            ((417, 448), "with its max-pool"),
            ((224, 239), "with the floor"),
            ((208, 224), "exactly 13"),
            ((97, 112), "end as 7"),
            (209, "a tuple of 2 ints"),
        ],
    ),
    "01.9": (
        [12],
        [
            (45, "not (k - 1)"),
            (30, "do not add kernel sizes"),
            (11, "11 convs reach 99"),
            (12.0, "answer an int"),
        ],
    ),
}


def test_every_exercise_has_cases():
    assert set(CASES) >= {i for i in EXERCISES if i.startswith("01.")}


@pytest.mark.parametrize("exercise", CASES)
def test_exercise_accepts_right_answers(exercise, capsys):
    rights, _ = CASES[exercise]
    for right in rights:
        ok, out = run(capsys, exercise, right)
        assert ok and out.startswith("✅ Correct"), (right, out)


@pytest.mark.parametrize("exercise", CASES)
def test_exercise_rejects_typical_mistakes_with_their_message(exercise, capsys):
    _, wrongs = CASES[exercise]
    for wrong, message in wrongs:
        ok, out = run(capsys, exercise, wrong)
        assert not ok and out.startswith("❌ Not yet") and message in out, (wrong, out)


def test_unanswered_and_unknown(capsys):
    assert run(capsys, "01.1", None) == (False, NOT_ANSWERED + "\n")
    ok, out = run(capsys, "01.3", lambda *a: (_ for _ in ()).throw(NotImplementedError))
    assert not ok and "Not answered yet: write the function" in out
    assert run(capsys, 3, 3) == (True, "✅ Correct: 3.\n")  # the old form still works
    ok, out = run(capsys, "b", "b")  # a string answer that is not an id
    assert ok
    ok, out = run(capsys, 5)
    assert not ok and "needs expected" in out


def test_ceil_mode_exercise_is_one_where_rounding_up_is_wrong():
    """The exercise must catch "ceil_mode always adds a window": rounding up must fail there."""
    from resnet_lib.arithmetic import pool_output_size

    size, k, s, p = 9, 2, 2, 1
    naive = -(-(size + 2 * p - k) // s) + 1
    real = nn.MaxPool2d(k, s, p, ceil_mode=True)(torch.zeros(1, 1, size, size)).shape[-1]
    assert naive == 6 and real == 5 == pool_output_size(size, k, s, p, ceil_mode=True)


def test_notebook_01_exercise_cells_leave_the_answer_to_the_library():
    """Outside the solutions, notebook 01 checks every exercise by id, with no expected value."""
    import re
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parents[1] / "notebooks" / "01_conv_arithmetic.ipynb"
    cells = [
        c
        for c in nbformat.read(path, as_version=4).cells
        if c.cell_type == "code" and "solution" not in c.metadata.get("tags", [])
    ]
    calls = [line for c in cells for line in c.source.splitlines() if "check(" in line]
    assert len(calls) == len([i for i in EXERCISES if i.startswith("01.")]) == 9
    for line in calls:
        assert re.fullmatch(r'_ = check\("01\.\d", \w+\)', line), line
    assert not any("expected" in c.source for c in cells)


# --- notebooks 02 and 04 to 07: answers judged by the library --------------------------------

# id -> (the right answer, [(a typical wrong answer, part of the message that names it)])
JUDGED = {
    "02.1": (
        885_760,
        [
            (884_736, "batchnorms are missing"),
            (886_784, "counts the running statistics too"),
            (886_272, "counts a conv bias"),
            (1_180_672, "gives conv1 256 input channels"),
            (590_848, "gives conv2 128 input channels"),
            (295_424, "one conv and one batchnorm"),
            (919_040, "includes the projection shortcut"),
            (885_760.0, "the answer is a count, a whole number: answer an int"),
        ],
    ),
    "02.4": (
        919_168,
        [
            (913_408, "batchnorms are missing"),
            (919_168 + 173_824, "option b already has"),
            (1_265_024, "all 16 blocks"),
            (924_928, "counts the running statistics too"),
            (13, "asks for their parameters"),
            (914_944, "leaves stage 1's first block out"),
            (919_168.0, "the answer is a count, a whole number: answer an int"),
        ],
    ),
    "04.1": (
        1.02,
        [
            (0.34, "the stem's 3 input channels are missing"),
            (4.08, "counts the stem on the 224 x 224 input"),
            (0.98, "the ratio upside down"),
            (65.33, "each filter is 3 x 3 x 64"),
            (1.03, "close: round to 2 decimals"),
        ],
    ),
    "04.2": (
        (10, 2048),
        [
            ((9, 2048), "each halving rounds up"),
            ((10, 2048 * 10 * 10), "one number per channel"),
            ((10, 512), "a bottleneck outputs 4 times its width"),
            ((7, 2048), "a 224 x 224 image"),
            (10, "a tuple of 2 ints"),
            ((10, 2048.0), "has a float in it"),
        ],
    ),
    "04.3": (
        "layer3",
        [
            ("layer4", "the first (with the projection) 6.04 million parameters, each other 4.46"),
            ("layer2", "'layer2' has 8 blocks"),
            (3, "answer one of the names"),
        ],
    ),
    "04.5": (
        "1234",
        [
            ("1", "your choice is right, but you left out 3 more. '2': count what bug 2 adds"),
            ("134", "right, but you left out 1 more. '2': count what bug 2 adds"),
            ("124", "left out 1 more. '3': a classifier wired to 2048 inputs is resnet-50's own"),
            ("123", "left out 1 more. '4': a clone adds no parameter"),
            ("234", "left out 1 more. '1': 26,560 is exactly one bias per output channel"),
            ("15", "a string of the letters"),
            (26_560, "a string of the letters"),
        ],
    ),
    "05.1": (
        "c",
        [
            ("a", "4 bytes"),
            ("b", "printing a line takes microseconds"),
            ("d", "always run in the order"),
            ("e", "one of"),
            (3, "one of"),
        ],
    ),
    "05.3": (
        1.67,
        [
            (2.0, "the convolutions' speed-up alone"),
            (1.8, "averages the speed-ups"),
            (1.33, "the memory-bound layers gain too"),
            (1.68, "close: round to 2 decimals"),
            ("1.67", "a number"),
        ],
    ),
    "05.4": (
        16_300,
        [
            (48_400, "the forward pass only"),
            (32_600, "divides by multiply-adds"),
            (40_700, "that is the whole peak"),
            (163, "fraction x peak"),
            (16_200, "close: round to the nearest hundred only"),
        ],
    ),
    "06.1": (
        183,
        [
            (164, "all 50,000 training images"),
            (165, "all 50,000 training images"),
            (182, "118 steps short of 64,000"),
            (183.0, "--epochs is a whole number"),
        ],
    ),
    "06.2": (
        "bde",
        [
            ("bd", "'e': in eval mode batchnorm normalises with its running statistics"),
            ("de", "'b': a batchnorm in train mode updates its running mean"),
            ("abde", "'a': requires_grad_(false) leaves conv1's weight without a gradient"),
            ("bcde", "'c': batchnorm's weight is a parameter"),
            ("be", "'d': the new fc requires gradients"),
            ("bdef", "'f': in train mode batchnorm normalises with the batch's own"),
            (10_245, "a string of the letters"),
        ],
    ),
    "06.3": (
        "abef",
        [
            ("abcef", "'c': a namespace is an object of a class"),
            ("abdef", "'d': a whole model is pickled"),
            ("abefg", "'g': a path is an object"),
            ("bef", "'a': a state_dict is an (ordered) dict of tensors: it loads"),
            ("abe", "'f': an optimizer's state_dict"),
            ("abz", "a string of the letters"),
            ("abcdefg", "3 of your choices are wrong"),
            ("", "a string of the letters"),
            (["a", "b"], "a string of the letters"),
        ],
    ),
    "06.4": (
        87,
        [
            (351, "one process alone"),
            (1404, "the processes share an epoch"),
            (97, "all 50,000 training images"),
            (88, "counts the incomplete last batch"),
            (87.5, "not a whole number"),
        ],
    ),
    "07.1": (
        1024 * 32 * 9,
        [
            (1024 * 1024 * 9, "that is the dense conv"),
            (1024 * 1024 * 9 // 32**2, "divides by the groups twice"),
        ],
    ),
    "07.3": (
        "b",
        [
            ("a", "how wide are 32 groups of 4?"),
            ("c", "the depth did not change"),
            ("d", "the same depth and the same inner widths"),
            ("wide", "one of the letters"),
        ],
    ),
    "06.6": (
        "cd",
        [
            ("acd", "'a': each process averages the loss over its 16 images"),
            ("bcd", "'b': the linear scaling rule scales the rate with the global batch"),
            ("d", "'c': batchnorm is each process's own"),
            ("c", "'d': the gradient flows through the batchnorms"),
            ("cde", "'e': without batchnorm every image's loss"),
            ("cdf", "'f': each process gets an eighth of the epoch"),
            ((16, 351), "a string of the letters"),
        ],
    ),
}


@pytest.mark.parametrize("exercise", JUDGED)
def test_judged_exercises_accept_the_answer_and_name_each_mistake(exercise, capsys):
    right, mistakes = JUDGED[exercise]
    assert check(exercise, right), capsys.readouterr().out
    for wrong, because in mistakes:
        capsys.readouterr()
        assert not check(exercise, wrong)
        out = capsys.readouterr().out
        assert out.startswith("❌ Not yet") and because in out.lower(), (wrong, out)


def test_judge_letters_tells_wrong_picks_from_letters_left_out():
    """A right letter left out is no wrong choice; each kind gets its own count and reason."""
    from resnet_lib.checks.core import judge_letters

    why = {"a": ("", "a is in"), "b": ("", "b is in"), "c": ("c is out", "")}
    judge = judge_letters(lambda: {"a", "b"}, why, "abc")
    ok, text = judge("a")
    assert not ok and "wrong" not in text and "left out 1 more. 'b': b is in." in text
    ok, text = judge("abc")
    assert not ok and "1 of your choices is wrong. 'c': c is out." in text and "left out" not in text
    ok, text = judge("ac")
    assert "1 of your choices is wrong. 'c'" in text and "You also left out 1. 'b': b is in." in text
    ok, text = judge("c")  # one choice, and it is wrong
    assert not ok and "your choice is wrong. 'c': c is out." in text and "of your choices" not in text


# Exercise 04.4: a Bottleneck ResNet >= 101 layers, <= 35 M parameters, no stage below ResNet-50's.
DESIGNS_RIGHT = [(3, 16, 11, 3), (20, 4, 6, 3), (10, 10, 10, 3)]
DESIGNS_WRONG = [
    ((3, 4, 23, 3), "44.5 million parameters, more than 35 million"),  # ResNet-101 itself
    ((3, 4, 6, 3), "50 layers deep"),
    ((3, 4, 6, 20), "more than 35 million"),  # the depth where a block costs most
    ((2, 30, 6, 3), "at least resnet-50's blocks"),
    ((3, 4, 26), "a tuple of four ints"),
    (101, "a tuple of four ints"),
]


def test_design_exercise_04_4(capsys):
    for right in DESIGNS_RIGHT:
        assert check("04.4", right), capsys.readouterr().out
    for wrong, because in DESIGNS_WRONG:
        capsys.readouterr()
        assert not check("04.4", wrong)
        assert because in capsys.readouterr().out.lower(), wrong


# --- fakes: answers that pretend to be right ----------------------------------------


class EqualToAll:
    """An answer whose == says "equal" to anything (and != "not different")."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


class IntEqualToAll(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __contains__(self, other):
        return True

    __hash__ = int.__hash__


class FloatEqualToAll(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return True

    def __gt__(self, other):
        return True

    def __sub__(self, other):
        return 0.0

    def __abs__(self):
        return 0.0

    __hash__ = float.__hash__


class StrEqualToAll(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def strip(self, *args):
        return self

    def lower(self):
        return self

    __hash__ = str.__hash__


class TupleEqualToAll(tuple):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __len__(self):
        return 4

    def __iter__(self):
        return iter([IntEqualToAll(0)] * 4)

    __hash__ = tuple.__hash__


def _returns(value):
    """A learner's function (of any arguments) that returns `value`."""
    return lambda *args, **kwargs: value


FAKES = {
    "always equal": EqualToAll(),
    "int subclass": IntEqualToAll(-7),
    "float subclass": FloatEqualToAll(-7.5),
    "str subclass": StrEqualToAll("zz"),
    "tuple subclass": TupleEqualToAll((-7, -7)),
    "tuple of always-equal": (EqualToAll(), EqualToAll()),
    "function returning an always-equal": _returns(EqualToAll()),
    "function returning an int subclass": _returns(IntEqualToAll(-7)),
    "function returning a float subclass": _returns(FloatEqualToAll(-7.5)),
    "empty block subclass": BasicEmpty,
    "super().forward": BasicSuper,
    "torchvision's forward": BasicTorchvision,
}


@pytest.mark.parametrize("fake", FAKES)
def test_every_exercise_refuses_every_fake(fake, capsys):
    """No judge compares a learner's object with == or `in`: each fake is refused, in one line."""
    for exercise in sorted(EXERCISES):
        ok, out = run(capsys, exercise, FAKES[fake])
        assert ok is False and out.startswith("❌ Not yet") and out.count("\n") == 1, (exercise, out)
    for block in [FAKES[fake]] if isinstance(FAKES[fake], type) else []:
        assert check_block(block) is False
        out = capsys.readouterr().out
        assert out.startswith("❌ Not yet") and out.count("\n") == 1, out


# Hand-written right answers, in the forms a learner might write them.
HAND_WRITTEN = {
    "01.1": (57, 58),
    "01.4": (3, 3, 0),
    "01.5": (3, 4),
    "04.3": " layer3 ",
    "05.1": "C",
    "05.3": 1.67,
    "06.1": np.int64(183),
    "06.3": "a, b, e, f",
    "06.6": "C, D",
}


@pytest.mark.parametrize("exercise", HAND_WRITTEN)
def test_hand_written_right_answers_pass(exercise, capsys):
    ok, out = run(capsys, exercise, HAND_WRITTEN[exercise])
    assert ok and out.startswith("✅ Correct"), out


# --- 05.2: the learner's timer ------------------------------------------------------


def right_timer(fn, sync, warmup=3, repeats=10):
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def timer_without_sync(fn, sync, warmup=3, repeats=10):
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def timer_without_sync_before_start(fn, sync, warmup=3, repeats=10):
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def timer_stopping_before_sync(fn, sync, warmup=3, repeats=10):
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
        sync()
    return statistics.median(seconds)


def timed_calls(fn, sync, warmup, repeats):
    """Each call's own time after an untimed warm-up, synchronised on both sides: the right
    timer's loop, which the wrong statistics below share."""
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        seconds.append(time.perf_counter() - start)
    return seconds


def timer_with_mean(fn, sync, warmup=3, repeats=10):
    return statistics.mean(timed_calls(fn, sync, warmup, repeats))


def timer_counting_the_warmup(fn, sync, warmup=3, repeats=10):
    sync()
    start = time.perf_counter()
    for _ in range(warmup + repeats):
        fn()
    sync()
    return (time.perf_counter() - start) / repeats


def timer_averaging_the_warmup(fn, sync, warmup=3, repeats=10):
    return statistics.mean(timed_calls(fn, sync, 0, warmup + repeats))  # the warm-up calls timed too


def timer_median_over_every_call(fn, sync, warmup=3, repeats=10):
    return statistics.median(timed_calls(fn, sync, 0, warmup + repeats))  # the warm-up calls timed too


def timer_with_trimmed_mean(fn, sync, warmup=3, repeats=10):
    seconds = sorted(timed_calls(fn, sync, warmup, repeats))
    return statistics.mean(seconds[:-1])  # the slowest call dropped: still not the median


def timer_with_mean_trimmed_at_both_ends(fn, sync, warmup=3, repeats=10):
    seconds = sorted(timed_calls(fn, sync, warmup, repeats))
    return statistics.mean(seconds[1:-1])  # the fastest and the slowest call dropped


def timer_without_warmup(fn, sync, warmup=3, repeats=10):
    return right_timer(fn, sync, 0, repeats)


def timer_with_min(fn, sync, warmup=3, repeats=10):
    return min(timed_calls(fn, sync, warmup, repeats))


def timer_in_milliseconds(fn, sync, warmup=3, repeats=10):
    return right_timer(fn, sync, warmup, repeats) * 1e3


def timer_hard_coded(fn, sync, warmup=3, repeats=10):
    right_timer(fn, sync, warmup, repeats)  # every call and sync as it should be
    return 0.034  # the fake device's median, written in


def timer_returning_an_always_equal_float(fn, sync, warmup=3, repeats=10):
    right = right_timer(fn, sync, warmup, repeats)
    return FloatEqualToAll(right * 3)


def timer_not_written(fn, sync, warmup=3, repeats=10):
    raise NotImplementedError


WRONG_TIMERS = {
    timer_without_sync: "never calls sync",
    timer_without_sync_before_start: "warm-up's work was still queued",
    timer_stopping_before_sync: "the clock stopped before the work was done",
    timer_with_mean: "that averages the calls (a mean, trimmed or not)",
    timer_counting_the_warmup: "counts the warm-up calls' time",
    timer_averaging_the_warmup: "averages over the warm-up calls",
    timer_without_warmup: "with no warm-up",
    timer_median_over_every_call: "takes the warm-up calls into the median",
    timer_with_trimmed_mean: "that averages the calls (a mean, trimmed or not)",
    timer_with_mean_trimmed_at_both_ends: "that averages the calls (a mean, trimmed or not)",
    timer_not_written: "Not answered yet: write the function",
    timer_with_min: "the fastest call (the minimum)",
    timer_in_milliseconds: "that is milliseconds; return seconds",
    timer_hard_coded: "time each call on its own",
    timer_returning_an_always_equal_float: "❌ Not yet: your timer returned",
    lambda fn, sync, warmup, repeats: None: "returned None",
    0.02: "pass your function itself",
}


def test_judge_number_shows_an_int_answer_as_an_int(capsys):
    check("05.4", 16_250)  # a slip of the rounding, answered as an int
    out = capsys.readouterr().out
    assert "you answered 16250." in out and "16250.0" not in out, out


def test_timer_exercise_05_2_accepts_a_synchronised_median_timer(capsys):
    assert check("05.2", right_timer)
    assert capsys.readouterr().out.startswith("✅ Correct: your timer waits for the device")


@pytest.mark.parametrize("timer", WRONG_TIMERS, ids=lambda t: getattr(t, "__name__", repr(t)))
def test_timer_exercise_05_2_names_each_mistake(timer, capsys):
    assert not check("05.2", timer)
    out = capsys.readouterr().out
    assert WRONG_TIMERS[timer] in out, out


def test_fake_device_spends_time_only_at_sync():
    from resnet_lib.checks.nb05 import FakeDevice

    device = FakeDevice([0.05])
    start = time.perf_counter()
    device.run()
    queued = time.perf_counter() - start
    device.sync()
    assert queued < 0.01 < 0.04 < time.perf_counter() - start


# --- 06.5: the learner's training step -------------------------------------------------


def right_step(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_with_model_zero_grad(model, optimizer, images, labels):
    model.train()
    model.zero_grad()  # clears the same gradients: right too
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_without_zero_grad(model, optimizer, images, labels):
    model.train()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_zeroing_after_backward(model, optimizer, images, labels):
    model.train()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def step_without_step(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    return loss.item()


def step_before_backward(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    optimizer.step()
    loss.backward()
    return loss.item()


def step_in_eval_mode(model, optimizer, images, labels):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_returning_the_tensor(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss


def step_on_probabilities(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images).softmax(dim=1), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_without_backward(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    optimizer.step()
    return loss.item()


def step_stepping_twice(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    optimizer.step()
    return loss.item()


def step_returning_an_always_equal_float(model, optimizer, images, labels):
    return FloatEqualToAll(right_step(model, optimizer, images, labels) + 1)


def step_doubling_the_gradient(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    (2 * loss).backward()  # the first loss is right, the step is not
    optimizer.step()
    return loss.item()


def step_not_written(model, optimizer, images, labels):
    raise NotImplementedError


def step_running_the_model_twice(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    model(images)  # a forward pass too many: BatchNorm's running statistics move twice
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


WRONG_STEPS = {
    step_without_zero_grad: "call optimizer.zero_grad() before loss.backward()",
    step_zeroing_after_backward: "call optimizer.zero_grad() before loss.backward()",
    step_without_step: "call optimizer.step()",
    step_before_backward: "optimizer.step() runs before loss.backward()",
    step_in_eval_mode: "call model.train() first",
    step_returning_the_tensor: "return loss.item()",
    step_on_probabilities: "on the logits",
    step_without_backward: "call loss.backward()",
    step_not_written: "Not answered yet: write the function",
    step_stepping_twice: "optimizer.step() ran 4 times in 2 calls",
    step_doubling_the_gradient: "the first loss agrees, but the second is",
    step_returning_an_always_equal_float: "your step's first loss is",
    step_running_the_model_twice: "BatchNorm's 1.running_mean does not",
}


def test_train_step_exercise_06_5_refuses_the_library_s_own_steps(capsys):
    from resnet_lib.checks.nb06 import reference_step

    assert not check("06.5", reference_step)
    assert "not from you" in capsys.readouterr().out


@pytest.mark.parametrize("step", [right_step, step_with_model_zero_grad], ids=lambda f: f.__name__)
def test_train_step_exercise_06_5_accepts_right_steps(step, capsys):
    state = torch.get_rng_state()
    assert check("06.5", step)
    assert capsys.readouterr().out.startswith("✅ Correct")
    assert torch.equal(state, torch.get_rng_state())  # the check leaves the notebook's random state alone


@pytest.mark.parametrize("step", WRONG_STEPS, ids=lambda f: f.__name__)
def test_train_step_exercise_06_5_names_each_mistake(step, capsys):
    assert not check("06.5", step)
    out = capsys.readouterr().out
    assert WRONG_STEPS[step] in out, out


def test_reference_step_is_what_the_solution_does():
    """The reference the check compares with trains: its loss goes down on a repeated batch."""
    from resnet_lib.checks.nb06 import reference_step, small_model

    model = small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(8, 3, 6, 6), torch.randint(0, 3, (8,))
    losses = [reference_step(model, optimizer, x, y) for _ in range(5)]
    assert losses[-1] < losses[0]


# --- the student copies ---------------------------------------------------------------

NOTEBOOKS = [
    "01_conv_arithmetic",
    "02_residual_blocks",
    "03_degradation_problem",
    "04_building_resnets",
    "05_gpu_performance",
    "06_training_and_pretrained",
    "07_resnet_family",
]

# Expressions that computed an exercise's answer on the page before the library did: none of
# them may come back outside a solution.
FORMULAS = {
    "04.1": ["112 * 112 * 64", "conv1, (1, 3, 224, 224)).macs"],
    "04.2": ["STAGE_WIDTHS[3] * Bottleneck.expansion", "forward_features(torch.zeros(1, 3, 300"],
    "04.3": ["max(params_per_stage"],
    "04.5": ["count_parameters(with_conv_bias(resnet(50)))", "6 * (3 * 64"],
    "05.3": ['peak_tflops(h100, "bf16") / peak_tflops(h100, "tf32")', "989.5 / 494.5"],
    "05.4": ["/ flops[50]", "0.4 * peak_tflops"],
    "06.1": ["50_000 // 128"],
    "06.4": ["50_000 // 4"],
}


def _forms(value):
    """How an answer can be written in a notebook: 26560, 26_560, 26,560, (10, 2048), ..."""
    if isinstance(value, tuple):
        return [repr(value), ", ".join(map(str, value))]
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value), f"{value:_}", f"{value:,}"]
    return []


def _student_cells(name):
    """The cells of the student copy that `make_student_copies` makes of the notebook now
    (test_student_copies.py checks that the stored copy is that one)."""
    from pathlib import Path

    import nbformat

    from make_student_copies import student_copy

    path = Path(__file__).resolve().parents[1] / "notebooks" / f"{name}.ipynb"
    return student_copy(nbformat.read(path, as_version=4), path.name).cells


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_copies_hold_no_expected_answer(name):
    """What a student copy keeps (every cell not tagged solution) never states an exercise's answer.

    Every exercise is checked by id, with no expected value; no exercise cell holds its answer,
    and no cell of the copy holds an answer of 100 or more, or an expression that computed one.
    """
    import re

    cells = _student_cells(name)
    code = [c for c in cells if c.cell_type == "code"]
    calls = [line.strip() for c in code for line in c.source.splitlines() if "check(" in line]
    assert calls and all(re.fullmatch(r'_ = check\("\d\d\.\d", \w+\)', line) for line in calls), calls
    assert not any("expected=" in c.source for c in code)
    prefix = name[:2] + "."
    answers = {i: right for i, (right, _) in JUDGED.items() if i.startswith(prefix)}
    answers.update(
        {i: right for i, (rights, _) in CASES.items() if i.startswith(prefix) for right in rights[:1]}
    )
    exercise_cells = {
        m.group(1): c.source for c in code for m in [re.search(r'check\("(\d\d\.\d)"', c.source)] if m
    }
    assert set(answers) <= set(exercise_cells) | {"01.3", "01.4"}, sorted(exercise_cells)
    text = "\n".join(c.source for c in cells)
    for exercise, right in answers.items():
        for form in _forms(right):
            # The exercise's own cell: not even a small answer sits next to its check.
            assert not re.search(
                rf"(?<![\w.]){re.escape(form)}(?![\w.])", exercise_cells.get(exercise, "")
            ), (
                exercise,
                form,
            )
            # A short bare pair ("5, 3") is everywhere in code: only its tuple form counts there.
            bare_pair = isinstance(right, tuple) and form != repr(right) and min(right) < 100
            if (isinstance(right, tuple) or right >= 100) and not bare_pair:
                # Not inside a longer list of numbers ("56, 57, 58, 59"), which is no answer.
                pattern = rf"(?<![\w.,])(?<!, ){re.escape(form)}(?![\w.]|,\s?\d)"
                assert not re.search(pattern, text), (exercise, form)
        for formula in FORMULAS.get(exercise, []):
            assert formula not in text, (exercise, formula)
