"""Every equality proof fails on a deliberately broken model, and passes on the right one.

The proofs: `compare_models` (which notebook 04's "our models are torchvision's" cell
calls for each depth) and `offline_proof` (notebook 06), whose model comes from
`load_torchvision_state_dict`. The bugs keep every name and shape, so the weights
still load strictly: only the function differs.
"""

import pytest
import torch
import torchvision
from torch import nn

from resnet_lib import BasicBlock, Bottleneck, ResNet, compare_models, projection_shortcut, resnet18, resnet50
from resnet_lib.proofs import randomise_batchnorm
from resnet_lib.tools import pretrained
from resnet_lib.tools.pretrained import offline_proof


class ReluBeforeBatchNormBlock(BasicBlock):
    """The bug: relu(conv) then BatchNorm, instead of BatchNorm then ReLU."""

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn1(self.relu(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class MissingReluBlock(BasicBlock):
    """The bug: no ReLU between the two convs."""

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.bn1(self.conv1(x))))
        out += identity
        return self.relu(out)


class ReluBeforeBatchNormBottleneck(Bottleneck):
    """The bug of the issue: the second ReLU before its BatchNorm."""

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.relu(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


def broken_resnet18(block):
    return lambda num_classes=1000: ResNet(block, (2, 2, 2, 2), num_classes=num_classes)


def v1_resnet50(num_classes=1000):
    """The stride on the wrong conv for torchvision's v1.5: in the first 1x1, not the 3x3."""
    return resnet50(num_classes=num_classes, stride_in_1x1=True)


X = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def test_correct_resnet18_passes_every_check():
    report = compare_models(resnet18(), torchvision.models.resnet18(), X)
    assert report.equal
    assert report.differences() == {"eval": 0.0, "train": 0.0, "gradients": 0.0, "running_stats": 0.0}


@pytest.mark.parametrize(
    "block", [ReluBeforeBatchNormBlock, MissingReluBlock], ids=["relu-before-bn", "no-relu"]
)
def test_broken_resnet18_fails_compare_models(block):
    report = compare_models(broken_resnet18(block)(), torchvision.models.resnet18(), X)
    assert not report.equal
    assert report.eval > 1e-3 and report.gradients > 1e-3


def test_stride_in_the_wrong_conv_fails_compare_models():
    report = compare_models(v1_resnet50(), torchvision.models.resnet50(), X)
    assert not report.equal and report.eval > 1e-3


@pytest.mark.parametrize(
    "broken",
    [
        ReluBeforeBatchNormBottleneck,
        lambda *args: Bottleneck(*args, stride_in_1x1=True),  # stride in conv1 instead of conv2
    ],
    ids=["relu-before-bn", "stride-in-conv1"],
)
def test_broken_bottleneck_fails_and_the_library_block_passes(broken):
    torch.manual_seed(0)
    args = (32, 8, 2, projection_shortcut(32, 32, 2))
    reference = Bottleneck(*args)
    x = torch.randn(4, 32, 8, 8)
    assert compare_models(Bottleneck(*args), reference, x).equal
    assert not compare_models(broken(*args), reference, x).equal


def test_at_default_init_the_relu_before_bn_bug_passes_an_eval_only_proof():
    # Why the BatchNorms are randomised: at default init (mean 0, variance 1, weight 1,
    # bias 0) BatchNorm in eval mode is a positive scale, and relu(c * x) = c * relu(x).
    torch.manual_seed(0)
    reference = Bottleneck(32, 8).eval()
    broken = ReluBeforeBatchNormBottleneck(32, 8).eval()
    broken.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(4, 32, 8, 8)
    with torch.no_grad():
        assert torch.equal(broken(x), reference(x))  # the old proof: passes, wrongly
    assert not compare_models(broken, reference, x).equal  # randomised BatchNorm: caught


@pytest.mark.parametrize(
    "weights, arch, builder",
    [
        ("ResNet18_Weights", "resnet18", broken_resnet18(ReluBeforeBatchNormBlock)),
        ("ResNet18_Weights", "resnet18", broken_resnet18(MissingReluBlock)),
        ("ResNet50_Weights", "resnet50", v1_resnet50),
    ],
    ids=["relu-before-bn", "no-relu", "stride-in-conv1"],
)
def test_broken_model_fails_offline_proof(monkeypatch, weights, arch, builder):
    # offline_proof builds our model through load_torchvision_state_dict, which looks it up here.
    monkeypatch.setitem(pretrained.ARCHITECTURES, weights, (arch, builder))
    result = offline_proof(arch, image_size=32)
    assert result["equal"] is False and result["identical"] is False and result["eval"] > 1e-3


def test_compare_models_leaves_its_arguments_alone():
    ours, theirs = resnet18(), torchvision.models.resnet18()
    before = [{k: v.clone() for k, v in m.state_dict().items()} for m in (ours, theirs)]
    ours.eval()
    compare_models(ours, theirs, X)
    assert not ours.training and theirs.training
    for model, state in zip((ours, theirs), before):
        assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
        assert all(p.grad is None for p in model.parameters())


def test_randomise_batchnorm_depends_only_on_seed_and_names():
    a = randomise_batchnorm(resnet18(), seed=3)
    b = randomise_batchnorm(torchvision.models.resnet18(), seed=3)
    c = randomise_batchnorm(resnet18(), seed=4)
    bn = [k for k in a.state_dict() if "bn" in k or "downsample.1" in k]
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in bn)
    assert not torch.equal(a.bn1.weight, c.bn1.weight)
    assert (a.bn1.weight < 0).any()  # a negative scale: does not commute with ReLU


def test_compare_models_refuses_a_single_sample():
    with pytest.raises(ValueError, match=r"x must be a batch of at least 2 inputs .*got \(1, 3, 32, 32\)"):
        compare_models(resnet18(), torchvision.models.resnet18(), X[:1])


def test_mismatched_names_fail_loudly():
    with pytest.raises(RuntimeError, match="Missing key|Unexpected key"):
        compare_models(nn.Sequential(nn.Linear(2, 2)), resnet18(), X)
