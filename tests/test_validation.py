"""The shared argument checks: exact types, and messages that name argument, value and what is allowed."""

import pytest
import torch
from torch import nn

from resnet_lib.tools.validate import (
    check_args,
    check_bool,
    check_device,
    check_int,
    check_module,
    check_number,
    check_one_of,
    check_path,
    check_shape,
    check_tensor,
)


@pytest.mark.parametrize("value", [True, 2.0, "2", None])
def test_check_int_wants_an_exact_int(value):
    with pytest.raises(TypeError, match="depth must be a positive int"):
        check_int("depth", value)


def test_check_int_minimum():
    check_int("steps", 0, minimum=0)
    with pytest.raises(ValueError, match=r"steps must be an int >= 0, got -3"):
        check_int("steps", -3, minimum=0)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_check_number_wants_a_finite_number_in_range(value):
    with pytest.raises(ValueError, match="lr must be a finite number"):
        check_number("lr", value)


def test_check_number_strict_and_bool():
    with pytest.raises(ValueError, match="> 0"):
        check_number("lr", 0.0, strict=True)
    with pytest.raises(TypeError, match="lr"):
        check_number("lr", True)


def test_check_one_of_compares_types_too():
    check_one_of("depth", 18, (18, 34))
    for value in (18.0, True, "18"):
        with pytest.raises(ValueError, match=r"depth must be one of 18, 34; got"):
            check_one_of("depth", value, (18, 34))


def test_check_device():
    assert check_device("device", "cpu") == torch.device("cpu")
    assert check_device("device", torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(TypeError, match="device must be a torch.device or a string"):
        check_device("device", 0.5)
    with pytest.raises(ValueError, match="device must name a device.*'gpu'"):
        check_device("device", "gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="this machine has no cuda device"):
            check_device("device", "cuda")


@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_check_bool_wants_true_or_false(value):
    check_bool("preact", True)
    with pytest.raises(TypeError, match=r"preact must be True or False, got"):
        check_bool("preact", value)


def test_check_module_names_a_class_passed_instead_of_a_model():
    check_module("model", nn.ReLU())
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module, got .*build one first"):
        check_module("model", nn.ReLU)
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module, got 'resnet18' \(str\)$"):
        check_module("model", "resnet18")


def test_check_tensor_and_check_path():
    check_tensor("x", torch.zeros(1))
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor, got list: e.g. torch.as_tensor\(x\)"):
        check_tensor("x", [1.0])
    check_path("out", "results.json")
    with pytest.raises(TypeError, match=r"out must be a file path \(str or pathlib.Path\), got 5 \(int\)"):
        check_path("out", 5)


@pytest.mark.parametrize(
    "value, error, match",
    [
        (224, TypeError, r"size must be a tuple \(h, w\), got 224 \(int\)"),
        ((224,), ValueError, r"size must be a tuple \(h, w\), got \(224,\)"),
        ((224, 0), ValueError, r"size\[1\] must be a positive int, got 0"),
        ((224, 22.4), TypeError, r"size\[1\] must be a positive int, got 22.4 \(float\)"),
    ],
)
def test_check_shape(value, error, match):
    check_shape("size", [224, 224], 2, "(h, w)")
    with pytest.raises(error, match=match):
        check_shape("size", value, 2, "(h, w)")


def test_check_shape_of_any_length():
    check_shape("input_size", (1, 3), None, "such as (1, 3, 224, 224)")
    with pytest.raises(ValueError, match="input_size"):
        check_shape("input_size", (), None, "such as (1, 3, 224, 224)")


def test_check_args_checks_before_the_body_runs():
    calls = []

    def stride_fits(size, stride=None, ceil_mode=False):
        if stride is not None and stride > size:
            raise ValueError(f"stride must be at most size={size}, got {stride}")

    @check_args(size=1, stride=1, ceil_mode=bool, where=stride_fits)
    def output(size: int, stride: int | None = None, ceil_mode: bool = False) -> int:
        calls.append(size)
        return size // (stride or 1)

    assert output(8) == 8 and output(8, 2) == 4 and output(size=8, stride=None) == 8
    assert output.__name__ == "output" and output.__wrapped__  # the source shown is the function's
    for args, kwargs, error, named in [
        ((0,), {}, ValueError, "size"),
        ((8.0,), {}, TypeError, "size"),
        ((8, True), {}, TypeError, "stride"),  # a bool is not an int
        ((8,), {"ceil_mode": 1}, TypeError, "ceil_mode"),
        ((8, 9), {}, ValueError, "stride"),  # `where` sees all the arguments, defaults included
    ]:
        with pytest.raises(error, match=named):
            output(*args, **kwargs)
    assert calls == [8, 8, 8]  # no refused call reached the body
