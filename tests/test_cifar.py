"""The paper's CIFAR-10 networks, option A shortcuts, and the helpers of notebooks 02 and 03
(the self-check of a learner's block, gradient norms at initialisation)."""

import pytest
import torch
from torch import nn

from resnet_lib.blocks import BasicBlock, Bottleneck
from resnet_lib.checks import check_block
from resnet_lib.cifar import PadShortcut, PlainBlock, cifar_resnet
from resnet_lib.inspection import (
    count_parameters,
    gradient_norms,
    measure_receptive_field,
    model_receptive_field,
)

PAPER_PARAMETERS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962}


@pytest.mark.parametrize("depth", [20, 56])
def test_parameter_counts_match_the_paper(depth):
    assert count_parameters(cifar_resnet(depth)) == PAPER_PARAMETERS[depth]
    # The plain twin has the same layers; option B adds two 1x1 conv + BN projections.
    assert count_parameters(cifar_resnet(depth, shortcut=None)) == PAPER_PARAMETERS[depth]
    extra_b = (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert count_parameters(cifar_resnet(depth, shortcut="B")) == PAPER_PARAMETERS[depth] + extra_b


def test_layer_count_and_shapes():
    model = cifar_resnet(20)
    convs = [m for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) + 1 == 20  # 19 convs + the fc layer
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 10)  # any size: global pooling
    assert isinstance(model.layer2[0].downsample, PadShortcut)
    assert model.layer1[0].downsample is None
    plain = cifar_resnet(20, shortcut=None)
    assert all(type(b) is PlainBlock for stage in (plain.layer1, plain.layer2, plain.layer3) for b in stage)


def test_pad_shortcut_subsamples_and_zero_pads():
    x = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(1, 2, 4, 4)
    out = PadShortcut(2, 5, stride=2)(x)
    assert out.shape == (1, 5, 2, 2)
    assert torch.equal(out[:, :2], x[:, :, ::2, ::2])
    assert not out[:, 2:].any()
    assert count_parameters(PadShortcut(2, 5, 2)) == 0
    # Zero padding can only add channels: the builder refuses widths that shrink.
    with pytest.raises(ValueError, match="widths must not shrink with option A"):
        cifar_resnet(20, widths=(32, 16, 64))
    assert cifar_resnet(20, "B", widths=(32, 16, 64)).layer2[0].downsample is not None


def test_plain_block_has_no_shortcut():
    block = PlainBlock(4, 4).eval()
    for m in (block.bn1, block.bn2):
        nn.init.zeros_(m.weight)
    # All weights of the last BN at zero: a residual block would pass x through, a plain one gives 0.
    assert not block(torch.rand(1, 4, 5, 5)).any()
    assert block.downsample is None


def test_zero_init_residual_makes_blocks_identities():
    model = cifar_resnet(20, zero_init_residual=True).eval()
    block = model.layer1[1]
    x = torch.rand(2, 16, 8, 8)
    assert torch.equal(block(x), x)
    with pytest.raises(ValueError, match="needs shortcuts"):
        cifar_resnet(20, shortcut=None, zero_init_residual=True)


def test_zero_init_gives_a_first_gradient_only_to_each_branchs_last_batchnorm():
    """Notebook 02 §5: on the first backward pass only bn2's weight and bias get a gradient
    inside the blocks; after one step (bn2's weight has moved) every block parameter does."""
    torch.manual_seed(0)
    model = cifar_resnet(20, zero_init_residual=True).train()
    x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def block_grads():
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        return {n: p.grad.abs().sum().item() for n, p in model.named_parameters() if n.startswith("layer")}

    first = block_grads()
    assert {n for n, g in first.items() if g > 0} == {n for n in first if ".bn2." in n}
    optimizer.step()
    assert all(g > 0 for g in block_grads().values())


@pytest.mark.parametrize(
    "kwargs, match",
    [({"depth": 21}, "6n \\+ 2"), ({"depth": 20, "shortcut": "C"}, "shortcut"), ({"depth": 2}, "6n \\+ 2")],
)
def test_bad_arguments_are_explained(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cifar_resnet(**kwargs)


def test_wrong_input_is_explained():
    with pytest.raises(ValueError, match=r"\(batch, 3, height, width\)"):
        cifar_resnet(20)(torch.zeros(3, 32, 32))


def test_receptive_field_ignores_option_a():
    # 19 3x3 convs; jumps 1 (stem, stage 1, first conv of stage 2), 2, then 4: 1 + 2*(8 + 6*2 + 5*4) = 81
    assert model_receptive_field(cifar_resnet(20), (1, 3, 32, 32)).size == 81


def test_gradient_norms_leave_the_model_unchanged():
    torch.manual_seed(0)
    model = cifar_resnet(20)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    norms = gradient_norms(model, torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3]))
    assert [n for n, _ in norms][:2] == ["conv1", "layer1.0.conv1"] and len(norms) == 19
    assert all(v > 0 for _, v in norms)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


class _Correct(BasicBlock):
    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + identity)


class _ReluBeforeAdd(BasicBlock):
    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))) + identity


class _NoDownsample(BasicBlock):
    def forward(self, x):
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + x)


class _NoFinalRelu(Bottleneck):
    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out)) + identity


class _Placeholder(Bottleneck):
    def forward(self, x):
        raise NotImplementedError


@pytest.mark.parametrize(
    "cls, ok, message",
    [
        (_Correct, True, "Correct"),
        (_ReluBeforeAdd, False, "ReLU comes before the addition"),
        (_NoDownsample, False, "self.downsample"),
        (_NoFinalRelu, False, "final ReLU is missing"),
        (_Placeholder, False, "Not answered yet"),
        (nn.Module, False, "must subclass"),
    ],
)
def test_check_block_explains_the_first_mismatch(cls, ok, message, capsys):
    state = torch.get_rng_state()
    assert check_block(cls) is ok
    assert message in capsys.readouterr().out
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(shortcut="B"), dict(shortcut=None), dict(preact=True)],
    ids=["A", "B", "plain", "preact"],
)
def test_forward_is_forward_head_of_forward_features(kwargs):
    model = cifar_resnet(20, **kwargs).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        features = model.forward_features(x)
        assert features.shape == (2, 64, 8, 8)  # the last stage's map, after bn_final for preact
        assert torch.equal(model.forward_head(features), model(x))
    assert (model.classifier_name, model.last_stage_name) == ("fc", "layer3")


@pytest.mark.parametrize("preact", [False, True])
def test_measured_receptive_field_of_a_cifar_net_equals_the_formula(preact):
    # measure_receptive_field runs forward_features: the same code path for both model kinds.
    model = cifar_resnet(20, preact=preact)
    assert measure_receptive_field(model, 128) == model_receptive_field(model, (1, 3, 32, 32)).size == 81
