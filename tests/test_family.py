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
from resnet_lib.proofs import compare_models, randomise_batchnorm

FAMILY = {
    "wide_resnet50_2": wide_resnet50_2,
    "wide_resnet101_2": wide_resnet101_2,
    "resnext50_32x4d": resnext50_32x4d,
    "resnext101_32x8d": resnext101_32x8d,
    "resnext101_64x4d": resnext101_64x4d,
}


@pytest.mark.parametrize("name", FAMILY)
def test_same_network_as_torchvision(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)()
    ours = FAMILY[name]()
    randomise_batchnorm(reference)  # at default init a BatchNorm is the identity and hides bugs
    assert count_parameters(ours) == count_parameters(reference)
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours.eval()(x), reference.eval()(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["wide_resnet50_2", "resnext50_32x4d"])
def test_train_mode_and_gradients_match_torchvision(name):
    torch.manual_seed(0)
    report = compare_models(FAMILY[name](), getattr(torchvision.models, name)(), torch.randn(2, 3, 32, 32))
    assert report.equal, report


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
    "build, kwargs, error, named",
    [
        (resnet50, dict(groups=0), ValueError, "groups"),
        (resnet50, dict(width_per_group=2.0), TypeError, "width_per_group"),
        (wide_resnet50_2, dict(deep_stem=1), TypeError, "deep_stem"),
        (resnext50_32x4d, dict(num_classes=0), ValueError, "num_classes"),
        # The family's own option given again: Python's error names it.
        (wide_resnet50_2, dict(width_per_group=64), TypeError, "width_per_group"),
    ],
)
def test_bad_family_options_are_named(build, kwargs, error, named):
    with pytest.raises(error) as raised:
        build(**kwargs)
    assert named in str(raised.value)


def test_notebook_07_exercises_accept_the_answer_and_name_typical_mistakes(capsys):
    from resnet_lib.checks import check

    assert check("07.1", 1024 * 32 * 9)
    for wrong, because in [
        (1024 * 1024 * 9, "that is the dense conv"),
        (1024 * 1024 * 9 // 32**2, "divides by the groups twice"),
        (288, "one output channel's weights"),
    ]:
        assert not check("07.1", wrong)
        assert because.lower() in capsys.readouterr().out.lower()
    assert check("07.2", (16, 16))
    for wrong, because in [
        ((32, 4), "the inner width is groups · base_width = 128"),  # ResNeXt-50's own: twice, not 4x
        ((8, 32), "more than ResNet-50's"),
        ((64, 4), "fewer than ResNet-50's"),
        (16, "a tuple (groups, base_width)"),
        ((16.0, 16), "a tuple (groups, base_width)"),
        ([16, 16], "a tuple (groups, base_width), not a list"),
    ]:
        assert not check("07.2", wrong)
        assert because.lower() in capsys.readouterr().out.lower()
