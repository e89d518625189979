"""The shared argument checks: exact types, and messages that name argument, value and what is allowed."""

import pytest
import torch

from resnet_lib._validation import check_device, check_int, check_number, check_one_of


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
