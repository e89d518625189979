"""FLOP counting (resnet_lib.flops): the forward pass, and forward + backward."""

import pytest
import torch
from torch import nn

from resnet_lib import resnet
from resnet_lib.flops import FlopCount, count_flops, count_step_flops


def test_count_flops_of_one_conv_and_the_model_untouched():
    conv = nn.Conv2d(2, 4, 3, padding=1, bias=False).train()
    weight = conv.weight.detach().clone()
    flops = count_flops(conv, (1, 2, 5, 5))
    assert flops == FlopCount(2 * 4 * 5 * 5 * (2 * 3 * 3)) and flops.macs == 4 * 5 * 5 * (2 * 3 * 3)
    assert conv.training and torch.equal(conv.weight, weight) and conv.weight.device.type == "cpu"


@pytest.mark.parametrize("depth, macs", [(18, 1_814_073_344), (50, 4_089_184_256)])
def test_count_flops_gives_the_reference_multiply_adds(depth, macs):
    # torchvision's figures: 1.814 and 4.089 GFLOPS (multiply-adds) at 224x224.
    with torch.device("meta"):  # a model without data counts the same
        model = resnet(depth)
    assert count_flops(model).macs == macs
    forward, both = count_step_flops(model, (1, 3, 224, 224))
    assert forward == 2 * macs


def test_a_model_without_parameters_is_refused():
    with pytest.raises(ValueError, match="model must have parameters: .* this ReLU has none"):
        count_flops(nn.ReLU())
    with pytest.raises(ValueError, match="model must have parameters"):
        count_step_flops(nn.Sequential(), (1, 3, 8, 8))


@pytest.mark.parametrize(
    "model, input_size, error, match",
    [
        ("resnet", (1, 3, 32, 32), TypeError, "model must be a torch.nn.Module, got 'resnet'"),
        (nn.Linear(2, 2), 224, TypeError, "input_size must be a shape such as"),
        (nn.Linear(2, 2), (), TypeError, "input_size must be a shape such as"),
        (nn.Linear(2, 2), (1, 0), ValueError, r"input_size\[1\] must be a positive int, got 0"),
        (nn.Linear(2, 2), (1, 2.0), TypeError, r"input_size\[1\] must be a positive int, got 2.0"),
        (nn.Linear(2, 2), (True, 2), TypeError, r"input_size\[0\] must be a positive int, got True"),
    ],
)
def test_bad_arguments_are_refused_before_counting(model, input_size, error, match):
    for count in (count_flops, count_step_flops):
        with pytest.raises(error, match=match):
            count(model, input_size)
