"""The mixed-precision policy (resnet_lib.precision): which 16-bit format, autocast and the loss scaler."""

import pytest
import torch

from resnet_lib.precision import DTYPES, amp_dtype, autocast, grad_scaler, training_precision

CPU = torch.device("cpu")


def test_amp_format_of_cpu_and_apple_gpus():
    assert amp_dtype(CPU) == "bf16" and amp_dtype(torch.device("mps")) == "fp16"


@pytest.mark.parametrize("capability, expected", [((7, 5), "fp16"), ((8, 0), "bf16"), ((9, 0), "bf16")])
def test_amp_format_follows_the_gpu_generation(monkeypatch, capability, expected):
    # T4 (7.5) only emulates bf16: fp16 with a scaler; Ampere (8.0) and Hopper (9.0) have it.
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert amp_dtype(torch.device("cuda")) == expected


def test_training_stays_in_fp32_on_the_cpu():
    assert training_precision(CPU) == "fp32"
    assert training_precision(torch.device("mps")) == "fp16"
    assert training_precision(torch.device("mps"), amp=False) == "fp32"


def test_autocast_and_scaler_follow_the_format():
    with autocast(CPU, "bf16"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast(CPU, "fp32"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    assert [grad_scaler(CPU, p).is_enabled() for p in DTYPES] == [False, False, True]  # fp16 only
    with pytest.raises(ValueError, match="precision must be one of 'fp32', 'bf16', 'fp16'; got 'fp8'"):
        autocast(CPU, "fp8")
    with pytest.raises(ValueError, match="precision must be one of"):
        grad_scaler(CPU, "int8")
