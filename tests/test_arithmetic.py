"""Tests for resnet_lib.arithmetic against the shapes PyTorch actually produces.

Most comparisons run on the "meta" device: tensors there have shapes but no
data, so thousands of layers take well under a second whatever the sizes. A
smaller run on the CPU guards against the meta shape functions ever
disagreeing with the real kernels.
"""

import random
import re
import warnings

import pytest
import torch
from torch import nn

from resnet_lib.arithmetic import conv_output_size, pool_output_size, same_padding

# (device, number of random configurations, largest input size)
DEVICES = [("meta", 4000, 80), ("cpu", 1000, 32)]


def torch_conv_size(device, size, kernel_size, stride, padding, dilation):
    """Output width of a real nn.Conv2d, or None if PyTorch rejects the config."""
    conv = nn.Conv2d(1, 1, kernel_size, stride, padding, dilation, bias=False, device=device)
    try:
        width = conv(torch.empty(1, 1, size, size, device=device)).shape[-1]
    except RuntimeError:
        return None
    # torch 2.4's meta shape function returns an empty output where the real kernel refuses
    # (no window fits, and a large stride rounds the negative size up to 0): a refusal too.
    return width if width > 0 else None


def torch_pool_size(device, size, kernel_size, stride, padding, dilation, ceil_mode):
    """Output width of a real nn.MaxPool2d, or None if PyTorch rejects the config."""
    pool = nn.MaxPool2d(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    try:
        return pool(torch.empty(1, 1, size, size, device=device)).shape[-1]
    except RuntimeError:
        return None


@pytest.fixture
def one_thread():
    """Run on one CPU thread: for layers this tiny, handing work to a second thread
    costs far more than the work, up to milliseconds per call on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def assert_agrees(ours, theirs, config):
    """Same size as PyTorch, or ValueError exactly where PyTorch refuses."""
    if theirs is None:
        with pytest.raises(ValueError):
            ours(**config)
    else:
        assert ours(**config) == theirs, config


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("device, n, max_size", DEVICES)
def test_conv_output_size_matches_torch(device, n, max_size):
    rng = random.Random(0)
    accepted = 0
    for _ in range(n):
        config = dict(
            size=rng.randint(1, max_size),
            kernel_size=rng.randint(1, 7),
            stride=rng.randint(1, 4),
            padding=rng.randint(0, 3),
            dilation=rng.randint(1, 3),
        )
        theirs = torch_conv_size(device, **config)
        assert_agrees(conv_output_size, theirs, config)
        accepted += theirs is not None
    # Make sure the sample really covers both outcomes.
    assert 0.75 * n < accepted < n


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("device, n, max_size", DEVICES)
def test_pool_output_size_matches_torch(device, n, max_size):
    rng = random.Random(0)
    accepted = 0
    for _ in range(n):
        kernel_size = rng.randint(1, 6)
        config = dict(
            size=rng.randint(1, max_size),
            kernel_size=kernel_size,
            stride=rng.choice([None, 1, 2, 3, 4]),
            # Now and then one more than allowed, to exercise PyTorch's padding rule.
            padding=rng.randint(0, kernel_size // 2 + (rng.random() < 0.2)),
            dilation=rng.randint(1, 3),
            ceil_mode=rng.random() < 0.5,
        )
        theirs = torch_pool_size(device, **config)
        assert_agrees(pool_output_size, theirs, config)
        accepted += theirs is not None
    assert 0.75 * n < accepted < n


# Found by brute force: rounding up would add a window that starts in the
# right-hand padding, so PyTorch drops it again.
@pytest.mark.parametrize(
    "size, kernel_size, stride, padding, expected",
    [
        (5, 2, 2, 1, 3),  # plain ceil would give 4: window 4 starts at 6 = 5 + 1
        (1, 2, 2, 1, 1),  # plain ceil would give 2
        (2, 1, 2, 0, 1),  # no padding: the window would start right after the input
        (10, 4, 3, 2, 4),  # plain ceil would give 5
    ],
)
def test_ceil_mode_drops_window_starting_in_padding(size, kernel_size, stride, padding, expected):
    span = size + 2 * padding - kernel_size
    assert -(-span // stride) + 1 == expected + 1  # the naive ceil is one too many
    config = dict(size=size, kernel_size=kernel_size, stride=stride, padding=padding)
    assert pool_output_size(**config, ceil_mode=True) == expected
    assert torch_pool_size("cpu", **config, dilation=1, ceil_mode=True) == expected


def test_ceil_mode_keeps_partial_window_inside_input():
    # 6 = 3 + 2 + 1: floor drops the last column, ceil keeps a window over it.
    assert pool_output_size(6, kernel_size=3, stride=2) == 2
    assert pool_output_size(6, kernel_size=3, stride=2, ceil_mode=True) == 3
    # A window may even be larger than the whole input in ceil mode.
    assert pool_output_size(2, kernel_size=3, ceil_mode=True) == 1
    assert torch_pool_size("cpu", 2, 3, None, 0, 1, True) == 1


@pytest.mark.parametrize(
    "function, args, expected",
    [
        (conv_output_size, dict(size=224, kernel_size=7, stride=2, padding=3), 112),
        (conv_output_size, dict(size=223, kernel_size=7, stride=2, padding=3), 112),
        (conv_output_size, dict(size=57, kernel_size=5, stride=2, padding=2), 29),
        (conv_output_size, dict(size=56, kernel_size=3, padding=1), 56),
        (conv_output_size, dict(size=56, kernel_size=1, stride=2), 28),
        (pool_output_size, dict(size=112, kernel_size=3, stride=2, padding=1), 56),
        (pool_output_size, dict(size=7, kernel_size=7), 1),
    ],
)
def test_known_values(function, args, expected):
    assert function(**args) == expected


@pytest.mark.parametrize(
    "kernel_size, dilation, expected", [(1, 1, 0), (3, 1, 1), (3, 2, 2), (5, 1, 2), (7, 3, 9), (2, 2, 1)]
)
def test_same_padding_keeps_size(kernel_size, dilation, expected):
    padding = same_padding(kernel_size, dilation)
    assert padding == expected
    for size in (1, 7, 32):
        assert conv_output_size(size, kernel_size, 1, padding, dilation) == size
        assert torch_conv_size("meta", size, kernel_size, 1, padding, dilation) == size


# Every error path: (function, keyword arguments, exception, what the message must name).
CONV = dict(size=8, kernel_size=3, stride=1, padding=1, dilation=1)
POOL = dict(CONV, ceil_mode=False)
ERRORS = [
    (function, dict(base, **{name: value}), error, (name, repr(value)))
    for function, base in [(conv_output_size, CONV), (pool_output_size, POOL)]
    for name, value, error in [
        ("size", 0, ValueError),
        ("size", -3, ValueError),
        ("kernel_size", 0, ValueError),
        ("stride", 0, ValueError),
        ("padding", -1, ValueError),
        ("dilation", 0, ValueError),
        ("size", 8.0, TypeError),
        ("kernel_size", 3.0, TypeError),
        ("stride", True, TypeError),
        ("padding", "1", TypeError),
        ("dilation", None, TypeError),
    ]
] + [
    (pool_output_size, dict(POOL, ceil_mode=1), TypeError, ("ceil_mode", "1")),
    (pool_output_size, dict(POOL, stride=None, kernel_size=2.5), TypeError, ("kernel_size", "2.5")),
    (pool_output_size, dict(POOL, padding=2), ValueError, ("padding", "kernel_size // 2 = 1", "2")),
    (pool_output_size, dict(POOL, kernel_size=4, padding=3), ValueError, ("padding", "= 2", "3")),
    (
        conv_output_size,
        dict(size=3, kernel_size=4, padding=1, dilation=2),
        ValueError,
        ("effective size 7", "padded input of size 5"),
    ),
    (
        pool_output_size,
        dict(size=4, kernel_size=3, stride=1, dilation=3),
        ValueError,
        ("effective size 7", "padded input of size 4"),
    ),
    (
        pool_output_size,
        dict(size=4, kernel_size=3, stride=2, dilation=3, ceil_mode=True),
        ValueError,
        ("ceil_mode's overhang", "1"),
    ),
    (same_padding, dict(kernel_size=2), ValueError, ("kernel_size=2", "is odd")),
    (same_padding, dict(kernel_size=0), ValueError, ("kernel_size", "0")),
    (same_padding, dict(kernel_size=3, dilation=1.5), TypeError, ("dilation", "1.5")),
]


@pytest.mark.parametrize("function, kwargs, error, names", ERRORS)
def test_errors_name_argument_and_value(function, kwargs, error, names):
    with pytest.raises(error) as raised:
        function(**kwargs)
    assert all(name in str(raised.value) for name in names), (str(raised.value), names)


def test_the_checks_leave_the_signature_and_the_positional_calls_alone():
    import inspect

    assert list(inspect.signature(pool_output_size).parameters)[:3] == ["size", "kernel_size", "stride"]
    assert conv_output_size(8, 3, 2, 1, 1) == 4 and pool_output_size(8, 2) == 4
    with pytest.raises(TypeError):  # too many arguments: Python's own error, as without the check
        conv_output_size(8, 3, 1, 0, 1, 1)


def test_same_padding_message_matches_torch_asymmetry():
    # kernel_size=4: total padding 3, which PyTorch splits as 1 before, 2 after.
    with pytest.raises(ValueError, match=re.escape("(1 before, 2 after)")):
        same_padding(4)
    x = torch.arange(1.0, 8.0).view(1, 1, 1, 7)
    weight = torch.zeros(1, 1, 1, 4)
    weight[..., 0] = 1  # output[i] = padded[i] = x[i - padding_before]
    with warnings.catch_warnings():  # "may require a zero-padded copy of the input"
        warnings.simplefilter("ignore")
        out = nn.functional.conv2d(x, weight, padding="same")
    assert out[0, 0, 0, :2].tolist() == [0.0, 1.0]  # exactly one zero before


def test_receptive_field_of_a_stem_and_its_errors():
    from resnet_lib.arithmetic import ReceptiveField, receptive_field

    assert receptive_field([]) == ReceptiveField(1, 1, 0)
    assert receptive_field([(7, 2, 3, 1), (3, 2, 1, 1)]) == ReceptiveField(11, 4, 5)
    assert receptive_field([(3, 1, 2, 2)]) == ReceptiveField(5, 1, 2)  # dilation widens it
    with pytest.raises(ValueError, match=r"layers\[0\] stride .* got 0"):
        receptive_field([(3, 0, 1, 1)])
    with pytest.raises(ValueError, match=r"layers\[0\] must be a tuple"):  # a layer without dilation
        receptive_field([(3, 1, 1)])
    with pytest.raises(TypeError, match="layers must be a list"):
        receptive_field(5)
    with pytest.raises(TypeError, match=r"layers\[0\] stride .* 1.0"):
        receptive_field([(3, 1.0, 1, 1)])
