"""FLOP counting (resnet_lib.flops): the forward pass, and forward + backward.

The reference multiply-adds of every ResNet depth are tests/test_models.py's; here, the
counter itself: one conv counted by hand, the backward pass, and bad arguments.
"""

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


def test_the_backward_pass_costs_a_little_less_than_twice_the_forward_pass():
    with torch.device("meta"):  # a model without data counts the same
        model = resnet(18)
    forward, both = count_step_flops(model, (1, 3, 224, 224))
    assert forward == count_flops(model).flops
    # No gradient for the input image: the first conv's backward is half a conv cheaper.
    assert 2 * forward < both < 3 * forward


@pytest.mark.parametrize("model", [nn.ReLU(), nn.Sequential()])
def test_a_model_without_parameters_is_refused(model):
    for count in (count_flops, count_step_flops):
        with pytest.raises(ValueError, match="model must have parameters"):
            count(model, (1, 3, 8, 8))


@pytest.mark.parametrize(
    "model, input_size, error, named",
    [
        ("resnet", (1, 3, 32, 32), TypeError, "model"),
        (nn.Linear(2, 2), 224, TypeError, "input_size"),
        (nn.Linear(2, 2), (), ValueError, "input_size"),
        (nn.Linear(2, 2), (1, 0), ValueError, "input_size[1]"),
        (nn.Linear(2, 2), (1, 2.0), TypeError, "input_size[1]"),
        (nn.Linear(2, 2), (True, 2), TypeError, "input_size[0]"),
    ],
)
def test_bad_arguments_are_refused_before_counting(model, input_size, error, named):
    for count in (count_flops, count_step_flops):
        with pytest.raises(error) as raised:
            count(model, input_size)
        assert named in str(raised.value)
