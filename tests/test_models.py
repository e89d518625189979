"""ResNet-18/34/50/101/152 are exactly torchvision's networks."""

import pytest
import torch
import torchvision
from torch import nn

from resnet_lib import (
    RESNET_CONFIGS,
    BasicBlock,
    Bottleneck,
    compare_models,
    count_flops,
    count_parameters,
    resnet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    trace_layers,
)
from resnet_lib.inspection import saved_tensor_bytes

DEPTHS = [18, 34, 50, 101, 152]
BUILDERS = dict(zip(DEPTHS, [resnet18, resnet34, resnet50, resnet101, resnet152]))
# torchvision's published parameter counts and multiply-adds ("GFLOPS") at 224x224.
PARAMETERS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}
GMACS = {18: 1.814, 34: 3.664, 50: 4.089, 101: 7.801, 152: 11.514}
GMACS_V1 = {50: 3.858, 101: 7.570, 152: 11.282}  # stride in the first 1x1 (the paper)


def torchvision_model(depth: int, **kwargs) -> nn.Module:
    return getattr(torchvision.models, f"resnet{depth}")(**kwargs)


@pytest.mark.parametrize("depth", DEPTHS)
def test_parameter_count_equals_torchvision(depth):
    ours = BUILDERS[depth]()
    assert count_parameters(ours) == PARAMETERS[depth] == count_parameters(torchvision_model(depth))


@pytest.mark.parametrize("depth", DEPTHS)
def test_torchvision_weights_load_strictly_and_the_functions_agree(depth):
    torch.manual_seed(depth)
    theirs = torchvision_model(depth)
    ours = resnet(depth)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # same names, in the same order
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    # Randomised BatchNorm; eval-mode and train-mode outputs, gradients, running statistics.
    # (tests/test_proofs.py shows that broken models fail this comparison.)
    report = compare_models(ours, theirs, torch.randn(2, 3, 32, 32))
    assert report.equal, report


@pytest.mark.parametrize("depth", DEPTHS)
def test_multiply_adds_equal_torchvision_figures(depth):
    flops = count_flops(resnet(depth))
    assert round(flops.macs / 1e9, 3) == GMACS[depth]
    assert flops.flops == 2 * flops.macs


@pytest.mark.parametrize("depth", [50, 101, 152])
def test_v1_layout_moves_the_stride_into_the_first_1x1(depth):
    v1 = resnet(depth, stride_in_1x1=True)
    assert count_parameters(v1) == PARAMETERS[depth]  # same weights, different places
    assert round(count_flops(v1).macs / 1e9, 3) == GMACS_V1[depth]
    for stage in (v1.layer2, v1.layer3, v1.layer4):
        assert (stage[0].conv1.stride, stage[0].conv2.stride) == ((2, 2), (1, 1))
    # The same torchvision weights load into either layout.
    v1.load_state_dict(torchvision_model(depth).state_dict(), strict=True)


def test_v15_strides_sit_in_the_3x3_and_never_in_the_expanding_1x1():
    model = resnet50()
    strided = {c.name for c in trace_layers(model, (1, 3, 64, 64)) if c.kind == "conv" and c.stride == 2}
    assert strided == {
        "conv1",
        *(f"layer{i}.0.{conv}" for i in (2, 3, 4) for conv in ("conv2", "downsample.0")),
    }


@pytest.mark.parametrize("depth", DEPTHS)
def test_projection_shortcuts_only_where_needed(depth):
    model = resnet(depth)
    with_projection = {
        name for name, m in model.named_modules() if isinstance(m, (BasicBlock, Bottleneck)) and m.downsample
    }
    # First block of stages 2-4 (size halves); stage 1 too for bottlenecks (64 -> 256 channels).
    expected = {f"layer{i}.0" for i in (2, 3, 4)}
    if RESNET_CONFIGS[depth][0] is Bottleneck:
        expected.add("layer1.0")
    assert with_projection == expected


@pytest.mark.parametrize("depth", [18, 50])
def test_no_conv_has_a_bias(depth):
    assert all(m.bias is None for m in resnet(depth).modules() if isinstance(m, nn.Conv2d))


def test_initialisation_matches_torchvision():
    torch.manual_seed(0)
    model = resnet50()
    conv = model.layer3[0].conv2  # fan_out = 256 * 3 * 3
    assert conv.weight.std().item() == pytest.approx((2 / (256 * 9)) ** 0.5, rel=0.02)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


@pytest.mark.parametrize("depth", [18, 50])
def test_zero_init_residual_makes_every_block_start_as_identity(depth):
    model = resnet(depth, zero_init_residual=True)
    blocks = [m for m in model.modules() if isinstance(m, (BasicBlock, Bottleneck))]
    last_bn = [b.bn3 if isinstance(b, Bottleneck) else b.bn2 for b in blocks]
    assert all(torch.all(bn.weight == 0) for bn in last_bn)
    # A block without projection then returns relu(x) = x for a non-negative x.
    block = model.layer1[1].eval()
    x = torch.rand(1, block.conv1.in_channels, 8, 8)
    with torch.no_grad():
        assert torch.equal(block(x), x)


def test_activation_memory_equals_torchvision():
    # No extra copies (e.g. identity = x.clone()): autograd keeps exactly what torchvision keeps.
    x = torch.randn(2, 3, 64, 64)
    assert saved_tensor_bytes(resnet50(), x) == saved_tensor_bytes(torchvision_model(50), x)


def test_other_inputs_and_classes():
    model = resnet18(in_channels=1, num_classes=10).eval()
    with torch.no_grad():
        assert model(torch.zeros(3, 1, 32, 32)).shape == (3, 10)


@pytest.mark.parametrize(
    "kwargs, error, named",
    [
        ({"depth": 20}, ValueError, ("depth", "20")),
        ({"depth": 18.0}, ValueError, ("depth", "18.0")),
        ({"depth": 18, "num_classes": 0}, ValueError, ("num_classes", "0")),
        ({"depth": 18, "in_channels": 3.0}, TypeError, ("in_channels", "3.0")),
        ({"depth": 18, "zero_init_residual": 1}, TypeError, ("zero_init_residual", "1")),
        ({"depth": 34, "stride_in_1x1": True}, ValueError, ("stride_in_1x1=True", "Bottleneck")),
        ({"depth": 18, "groups": 32}, ValueError, ("groups=32", "Bottleneck")),
        ({"depth": 18, "colour": True}, TypeError, ("colour",)),  # not an option: Python says so
    ],
)
def test_bad_builder_arguments(kwargs, error, named):
    with pytest.raises(error) as raised:
        resnet(**kwargs)
    assert all(n in str(raised.value) for n in named), str(raised.value)


@pytest.mark.parametrize(
    "shape, got",
    [((2, 1, 64, 64), r"\(2, 1, 64, 64\)"), ((3, 64, 64), r"\(3, 64, 64\)")],
)
def test_input_that_does_not_fit_the_model(shape, got):
    with pytest.raises(ValueError, match=rf"\(batch, 3, height, width\), got {got}"):
        resnet18()(torch.zeros(shape))


@pytest.mark.parametrize("depth", [18, 50])
def test_forward_is_forward_head_of_forward_features(depth):
    model = resnet(depth).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        features = model.forward_features(x)
        assert features.shape == (2, model.fc.in_features, 2, 2)  # the last stage's map, 64 / 32
        assert torch.equal(model.forward_head(features), model(x))
    # The split adds no layer: the state dict is torchvision's (see the strict loads above).
    assert (model.classifier_name, model.last_stage_name) == ("fc", "layer4")
    assert count_parameters(model) == PARAMETERS[depth]
