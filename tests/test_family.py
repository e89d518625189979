"""The ResNet family after 2015 (Wide ResNet, ResNeXt, ResNet-C/D): the same blocks, a few options."""

import pytest
import torch
import torchvision
from torch import nn

from resnet_lib import (
    Bottleneck,
    ResNet,
    count_flops,
    count_parameters,
    resnet50,
    resnext50_32x4d,
    resnext101_32x8d,
    resnext101_64x4d,
    wide_resnet50_2,
    wide_resnet101_2,
)

FAMILY = {
    "wide_resnet50_2": wide_resnet50_2,
    "wide_resnet101_2": wide_resnet101_2,
    "resnext50_32x4d": resnext50_32x4d,
    "resnext101_32x8d": resnext101_32x8d,
    "resnext101_64x4d": resnext101_64x4d,
}


def _randomise_batchnorm(model: nn.Module, seed: int = 0) -> None:
    """BatchNorm statistics and affine parameters away from the identity, from a seed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g))
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_(torch.randn(n, generator=g))
                m.bias.copy_(torch.randn(n, generator=g))


@pytest.mark.parametrize("name", FAMILY)
def test_same_network_as_torchvision(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)()
    ours = FAMILY[name]()
    _randomise_batchnorm(reference)  # at default init a BatchNorm is the identity and hides bugs
    assert count_parameters(ours) == count_parameters(reference)
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours.eval()(x), reference.eval()(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["wide_resnet50_2", "resnext50_32x4d"])
def test_train_mode_and_gradients_match_torchvision(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)()
    _randomise_batchnorm(reference)
    ours = FAMILY[name]()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    outputs = [m.train()(x) for m in (ours, reference)]
    assert torch.allclose(*outputs, rtol=1e-4, atol=1e-4)
    for out in outputs:
        out.square().mean().backward()
    theirs = dict(reference.named_parameters())
    for key, p in ours.named_parameters():
        assert torch.allclose(p.grad, theirs[key].grad, rtol=1e-3, atol=1e-5), key


@pytest.mark.parametrize("name", FAMILY)
def test_multiply_adds_are_torchvisions_published_ops(name):
    weights = torchvision.models.get_model_weights(name).IMAGENET1K_V1
    model = FAMILY[name]()
    assert round(count_flops(model).macs / 1e9, 3) == weights.meta["_ops"]
    assert count_parameters(model) == weights.meta["num_params"]


def test_a_grouped_conv_has_groups_times_fewer_weights():
    dense = Bottleneck(256, 64, base_width=128)  # a Wide ResNet-50-2 stage-1 block: 128 inside
    grouped = Bottleneck(256, 64, groups=32, base_width=4)  # ResNeXt-50 32x4d's: 128 inside, 32 groups
    assert dense.conv2.weight.numel() == 128 * 128 * 9 == 32 * grouped.conv2.weight.numel()
    assert (dense.conv1.out_channels, grouped.conv1.out_channels) == (128, 128)


def test_resnet_c_stem_and_resnet_d_shortcut_by_formula():
    base = resnet50()
    c = ResNet(Bottleneck, (3, 4, 6, 3), deep_stem=True)
    d = ResNet(Bottleneck, (3, 4, 6, 3), avg_down=True)
    stem_7x7 = 7 * 7 * 3 * 64
    stem_3x3 = 9 * 3 * 32 + 9 * 32 * 32 + 9 * 32 * 64 + 2 * (2 * 32)  # 3 convs + 2 BatchNorms inside
    assert count_parameters(c) - count_parameters(base) == stem_3x3 - stem_7x7
    assert count_parameters(d) == count_parameters(base)  # an average pool has no parameters
    x = torch.randn(1, 3, 224, 224)
    for model in (c, d):
        assert model.eval()(x).shape == (1, 1000)
    # He et al. 2019, Table 5: ResNet-50-C and ResNet-50-D cost 4.3 GFLOPs (multiply-adds), ResNet-50 4.1.
    # (Their D row includes C.) The strided shortcuts of D run at stride 1 after the pooling: more work.
    cd = ResNet(Bottleneck, (3, 4, 6, 3), deep_stem=True, avg_down=True)
    assert [round(count_flops(m).macs / 1e9, 1) for m in (base, c, cd)] == [4.1, 4.3, 4.3]
    down = d.layer2[0].downsample
    assert isinstance(down[0], nn.AvgPool2d) and down[1].stride == (1, 1)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(groups=0), ValueError, "groups must be"),
        (dict(width_per_group=2.0), TypeError, "width_per_group must be"),
        (dict(deep_stem=1), TypeError, "deep_stem must be True or False"),
    ],
)
def test_bad_family_options_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        ResNet(Bottleneck, (1, 1, 1, 1), **kwargs)
