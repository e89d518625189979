"""The exercises' self-checks accept the right answers and reject the typical wrong ones.

Each mistake that WORKSHOP.md says an exercise catches is fed to that exercise's check
here, and must be rejected with its own message.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

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


class BasicRaises(BasicBlock):
    def forward(self, x):
        return self.conv1(x.flatten())  # a shape error


RIGHT = [BasicRight, BasicRightInPlaceIntoBranch, BottleneckRight]

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
    "stride on the wrong conv (v1 layout)": (BottleneckV1, "conv1 has stride 2 where the library's has 1"),
    "stride left out of the 3x3 conv": (BottleneckWrongStrideConv, "different shapes: check the strides"),
    "in-place change of a tensor saved for backward": (
        BasicInPlaceAfterUse,
        "changed by an in-place operation",
    ),
    "detached branch": (BasicDetached, "the gradient of"),
    "BatchNorm on running statistics in training": (BasicEvalBatchNorm, "in train mode the output differs"),
    "not written": (BasicPlaceholder, "Not answered yet"),
    "returns None": (BottleneckReturnsNone, "Not answered yet"),
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
    # Notebook 02's stored outputs show these lines; they must not change.
    assert not check_block(WRONG["ReLU before the addition (BasicBlock)"][0])
    assert capsys.readouterr().out == (
        "❌ Not yet: on an identity-shortcut block (8 -> 8 channels), the last ReLU comes before the "
        "addition: add the shortcut first, then apply the ReLU.\n"
    )
    assert not check_block(BasicPlaceholder)
    assert capsys.readouterr().out == (
        "⏳ Not answered yet: write forward (in place of `raise NotImplementedError`) and run the cell again.\n"
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


# id -> (right answers, [(typical wrong answer, part of its message)])
CASES = {
    "01.1": ([29], [(28, "+ 1 is missing"), (27, "padding is missing"), (29.0, "use //"), ("29", "an int")]),
    "01.2": ([14], [(18, "ignores the dilation"), (13, "+ 1 is missing"), (12, "not d·k")]),
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
        ],
    ),
    "01.4": (
        [(3, 3, 0), (5, 3, 2), (4, 3, 1), (39, 1, 0)],
        [
            ((1, 3, 0), "never read"),
            ((2, 3, 0), "smaller than the stride"),
            ((3, 3, 1), "the floor drops the next one"),
            ((3, 2, 1), "gives 29, not 19"),
            ((1, 4, 8), "more than (k - 1)/2"),
            ((3, 3), "three ints"),
            ((80, 1, 0), "not a valid convolution"),
        ],
    ),
    "01.5": ([5], [(6, "starts in the right padding is dropped"), (4, "padding is missing")]),
    "01.6": ([6], [(2, "without dilation"), (12, "total over both sides")]),
    "01.7": ([8], [(7, "7 → 3")]),
    "01.8": ([(417, 448)], [((448, 479), "floor"), ((416, 448), "exactly 13"), (417, "a tuple of 2 ints")]),
    "01.9": ([27], [(13, "not (k - 1)"), (16, "do not add kernel sizes"), (37, "before* its own stride")]),
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


# --- notebooks 02 and 05: answers judged by the library ------------------------------

JUDGED = {
    "02.1": (
        1_180_672,
        [(2 * 9 * 256 * 256, "batchnorms are missing"), (9 * 256 * 256 + 512, "one conv and one")],
    ),
    "02.4": (132_096, [(256 * 512, "batchnorm is missing"), (9 * 256 * 512 + 1024, "not a 3x3")]),
    "05.1": (390, [(391, "rounding up counts the incomplete last batch")]),
    "05.2": (10_245, [(10_240, "the bias is missing"), (2_049_000, "imagenet's fc")]),
    "05.3": (
        "b",
        [("a", "not about speed"), ("c", "argument of load_state_dict"), ("d", "one of the letters")],
    ),
    "05.4": (97, [(390, "one process alone"), (1560, "the processes share an epoch")]),
}


@pytest.mark.parametrize("exercise", JUDGED)
def test_notebook_02_and_05_exercises(exercise, capsys):
    right, mistakes = JUDGED[exercise]
    assert check(exercise, right)
    for wrong, because in mistakes:
        capsys.readouterr()
        assert not check(exercise, wrong)
        assert because in capsys.readouterr().out.lower()


@pytest.mark.parametrize(
    "name", ["01_conv_arithmetic", "02_residual_blocks", "05_training_and_pretrained", "06_resnet_family"]
)
def test_student_copies_hold_no_expected_answer(name):
    """What a student copy keeps (every cell not tagged solution) never states an exercise's answer."""
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parents[1] / "notebooks" / "student" / f"{name}.ipynb"
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    calls = [line.strip() for c in cells for line in c.source.splitlines() if "check(" in line]
    assert calls and all(line.startswith('_ = check("') for line in calls), calls
    assert not any("expected=" in c.source for c in cells)
