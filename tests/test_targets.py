"""Notebook 05's GPU targets: datasheet bandwidths, the roofline, published figures."""

import pytest
import torch
from torch import nn

from resnet_lib import resnet18
from resnet_lib.tools.benchmark.peaks import peak_bandwidth, peak_tflops
from resnet_lib.tools.benchmark.targets import (
    PUBLISHED,
    OpCost,
    resnet50_roofline_img_s,
    resnet50_target,
    roofline,
    step_costs,
)

A100, H100, H200 = "NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3", "NVIDIA H200"


def test_bandwidth_by_name():
    assert peak_bandwidth(H100) == 3.35 and peak_bandwidth(H200) == 4.8
    assert peak_bandwidth("NVIDIA H100 PCIe") == 2.0
    assert peak_bandwidth(A100) == 2.039
    assert peak_bandwidth("NVIDIA A100-SXM4-40GB") == 1.555
    assert peak_bandwidth("NVIDIA L40S") is None  # "L4" is matched as a whole word only
    with pytest.raises(TypeError, match="device_name"):
        peak_bandwidth(None)


def test_step_costs_count_the_step_flops_and_leave_the_model_alone():
    model = resnet18()
    ops = step_costs(model, batch_size=2, image_size=64)
    # A copy went to the meta device, not the model.
    assert next(model.parameters()).device.type == "cpu"
    from resnet_lib.flops import count_step_flops

    # Same FLOPs as the library's count (whose loss is a sum, not a cross-entropy).
    counted = count_step_flops(model, (2, 3, 64, 64))[1]
    assert abs(sum(op.flops for op in ops) / counted - 1) < 1e-3
    names = {op.name for op in ops}
    assert {"convolution", "convolution_backward", "native_batch_norm"} <= names
    assert all(op.bytes > 0 for op in ops)
    # fp32 moves about twice the bytes of bf16 (labels, max-pool indices: integers)
    half = step_costs(resnet18().to(torch.bfloat16), batch_size=2, image_size=64)
    ratio = sum(op.bytes for op in ops) / sum(op.bytes for op in half)
    assert ratio == pytest.approx(2, rel=0.01)


def test_roofline_takes_the_slower_of_compute_and_memory():
    ops = [OpCost("a", flops=10**12, bytes=0), OpCost("b", flops=0, bytes=10**12)]
    r = roofline(ops, parameters=0, tflops=1.0, tbs=0.5)
    assert r.seconds == pytest.approx(1.0 + 2.0)
    assert r.memory_bound_share == pytest.approx(2 / 3)
    # A broken roofline that took the faster of the two would give 0 + 0 here.
    assert roofline(ops, 0, 1.0, 1.0).seconds == pytest.approx(2.0)


def test_published_targets_and_estimates():
    a100 = resnet50_target(A100, "fp16")
    assert a100.published and a100.img_s == 2470
    h100, h200 = resnet50_target(H100), resnet50_target(H200)
    assert not h100.published and not h200.published
    # Same TFLOP/s peak, more bandwidth: the memory-bound step is faster on an H200.
    assert peak_tflops(H100, "bf16") == peak_tflops(H200, "bf16")
    assert h200.img_s > 1.2 * h100.img_s
    # The estimate holds the A100's share of its roofline.
    share = 2470 / resnet50_roofline_img_s(A100, "fp16")
    assert h100.img_s == pytest.approx(share * resnet50_roofline_img_s(H100))
    assert resnet50_target("NVIDIA GeForce RTX 4090") is None
    assert {p.gpu for p in PUBLISHED} == {A100, "Tesla V100-SXM2-16GB"}


def test_step_costs_reject_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        step_costs(nn.Conv2d(3, 3, 1), batch_size=0)
