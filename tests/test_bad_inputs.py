"""Every public function and class of the model side of the library refuses bad input clearly.

Each case is a call, the exception it must raise (TypeError for a wrong type, ValueError
for a wrong value) and a fragment of the message, which names the argument and the value
and says what is allowed. A bool is not an int, 18.0 is not 18, a NumPy array is not a tensor.
"""

import re

import numpy as np
import pytest
import torch
from torch import nn

from resnet_lib import arithmetic, blocks, cifar, inspection, models, proofs
from resnet_lib.tools import degradation, figures, pretrained, source

X = torch.zeros(2, 3, 16, 16)
LABELS = torch.zeros(2, dtype=torch.int64)


def tiny():
    return cifar.cifar_resnet(8)


CASES = [
    # arithmetic
    (
        lambda: arithmetic.receptive_field([(3, 1, 1)]),
        ValueError,
        "layers[0] must be a tuple (kernel_size, stride",
    ),
    (lambda: arithmetic.receptive_field((3, 1, 1, 1)), ValueError, "layers[0] must be a tuple"),
    (lambda: arithmetic.receptive_field(5), TypeError, "layers must be a list of (kernel_size"),
    (lambda: arithmetic.receptive_field([(3, 1.0, 1, 1)]), TypeError, "stride must be an int, got 1.0"),
    (lambda: arithmetic.conv_output_size(18.0, 3), TypeError, "size must be an int, got 18.0 (float)"),
    (lambda: arithmetic.same_padding(True), TypeError, "kernel_size must be an int, got True (bool)"),
    # blocks
    (lambda: blocks.conv3x3(-1, 4), ValueError, "in_channels must be a positive int, got -1"),
    (lambda: blocks.conv3x3(True, 4), TypeError, "in_channels must be a positive int, got True (bool)"),
    (
        lambda: blocks.conv3x3(4, 6, groups=4),
        ValueError,
        "groups=4 must divide in_channels=4 and out_channels=6",
    ),
    (lambda: blocks.conv1x1(4.0, 4), TypeError, "in_channels must be a positive int, got 4.0 (float)"),
    (lambda: blocks.projection_shortcut(4, 8, 0), ValueError, "stride must be a positive int, got 0"),
    (
        lambda: blocks.projection_shortcut(4, 8, 2, avg_down=1),
        TypeError,
        "avg_down must be True or False, got 1",
    ),
    (lambda: blocks.BasicBlock(-1, 64), ValueError, "in_channels must be a positive int, got -1"),
    (lambda: blocks.BasicBlock(64, 0), ValueError, "channels must be a positive int, got 0"),
    (lambda: blocks.BasicBlock(64, 64, 0), ValueError, "stride must be a positive int, got 0"),
    (
        lambda: blocks.BasicBlock(64, 64, 1, "B"),
        TypeError,
        "downsample must be None or a shortcut module, got 'B'",
    ),
    (lambda: blocks.Bottleneck(64, 64, 2.0), TypeError, "stride must be a positive int, got 2.0 (float)"),
    (
        lambda: blocks.Bottleneck(64, 64, stride_in_1x1="yes"),
        TypeError,
        "stride_in_1x1 must be True or False",
    ),
    (lambda: blocks.Bottleneck(64, 64, groups=0), ValueError, "groups must be a positive int, got 0"),
    (lambda: blocks.Bottleneck(64, 1, base_width=1), ValueError, "channels * base_width / 64 must be >= 1"),
    (lambda: blocks.PreActBasicBlock(64, 64, True), TypeError, "stride must be a positive int, got True"),
    # cifar
    (lambda: cifar.PadShortcut(8, 4, 2), ValueError, "option A can only add channels"),
    (lambda: cifar.PlainBlock(8, 8, 1, nn.Identity()), ValueError, "takes no downsample module"),
    (lambda: cifar.CifarResNet(21), ValueError, "depth must be 6n + 2"),
    (lambda: cifar.CifarResNet(20.0), TypeError, "depth must be an int, got 20.0 (float)"),
    (lambda: cifar.CifarResNet(20, "a"), ValueError, 'shortcut must be "A", "B" or None (plain), got \'a\''),
    (
        lambda: cifar.CifarResNet(20, widths=16),
        TypeError,
        "widths must be a tuple of the channels of the 3 stages",
    ),
    (lambda: cifar.CifarResNet(20, widths=(16, 32)), ValueError, "widths must be a tuple of the channels"),
    (
        lambda: cifar.CifarResNet(20, widths=(16, 0, 64)),
        ValueError,
        "widths[1] must be a positive int, got 0",
    ),
    (
        lambda: cifar.CifarResNet(20, zero_init_residual=1),
        TypeError,
        "zero_init_residual must be True or False",
    ),
    # models
    (lambda: models.resnet(18.0), ValueError, "depth must be one of [18, 34, 50, 101, 152], got 18.0"),
    (lambda: models.resnet(True), ValueError, "depth must be one of [18, 34, 50, 101, 152], got True"),
    (lambda: models.resnet(18, zero_init_residual=1), TypeError, "zero_init_residual must be True or False"),
    (
        lambda: models.ResNet(blocks.BasicBlock, 2),
        TypeError,
        "layers must be a tuple of the blocks of 4 stages",
    ),
    (lambda: models.ResNet(blocks.BasicBlock(4, 4), (1, 1, 1, 1)), TypeError, "got a BasicBlock instance"),
    (
        lambda: models.ResNet(blocks.Bottleneck, (1, 1, 1, 1), stride_in_1x1=1),
        TypeError,
        "stride_in_1x1 must be",
    ),
    (lambda: models.init_weights("model"), TypeError, "model must be a torch.nn.Module, got 'model'"),
    # model inputs
    (lambda: tiny()(X.long()), TypeError, "expected floating-point images, got dtype torch.int64"),
    (
        lambda: tiny()(X.double()),
        TypeError,
        "the images are torch.float64 but the model's weights are torch.float32",
    ),
    (lambda: tiny()(X.numpy()), TypeError, "expected a torch.Tensor of images, got ndarray"),
    (
        lambda: tiny()(X[:, :1]),
        ValueError,
        "expected an input of shape (batch, 3, height, width), got (2, 1, 16, 16)",
    ),
    (
        lambda: tiny()(X[0]),
        ValueError,
        "expected an input of shape (batch, 3, height, width), got (3, 16, 16)",
    ),
    (lambda: models.resnet18()(X[:, :1]), ValueError, "expected an input of shape (batch, 3, height, width)"),
    (
        lambda: models.resnet18().forward_head(torch.zeros(2, 512)),
        ValueError,
        "forward_head expects a feature map",
    ),
    (
        lambda: tiny().forward_head(torch.zeros(2, 32, 4, 4)),
        ValueError,
        "(batch, 64, h, w), got (2, 32, 4, 4)",
    ),
    # inspection
    (lambda: inspection.count_parameters(models.resnet18), TypeError, "model must be a torch.nn.Module"),
    (
        lambda: inspection.count_parameters(nn.Linear(2, 2), 1),
        TypeError,
        "trainable_only must be True or False",
    ),
    (lambda: inspection.trace_layers(models.ResNet), TypeError, "build one first, e.g. resnet18()"),
    (
        lambda: inspection.trace_layers(tiny(), (3, 16, 16)),
        ValueError,
        "input_size must be a tuple (batch, channels",
    ),
    (lambda: inspection.trace_layers(tiny(), 16), TypeError, "input_size must be a tuple (batch, channels"),
    (
        lambda: inspection.trace_layers(tiny(), (1, 3, 16, 0)),
        ValueError,
        "input_size[3] must be a positive int",
    ),
    (
        lambda: inspection.model_receptive_field(nn.ReLU(), (1, 3, 8, 8)),
        ValueError,
        "ReLU has no Conv2d or MaxPool2d",
    ),
    (
        lambda: inspection.measure_receptive_field(tiny(), 0),
        ValueError,
        "image_size must be a positive int, got 0",
    ),
    (lambda: inspection.measure_receptive_field(nn.ReLU(), 8), ValueError, "ReLU has no Conv2d layer"),
    (lambda: inspection.measure_receptive_field(tiny(), 16), ValueError, "image_size=16 is too small"),
    (
        lambda: inspection.saved_tensor_bytes(tiny(), X.numpy()),
        TypeError,
        "x must be a torch.Tensor, got ndarray",
    ),
    (lambda: inspection.in_mode("model", True).__enter__(), TypeError, "model must be a torch.nn.Module"),
    (lambda: inspection.in_mode(tiny(), 1).__enter__(), TypeError, "training must be True or False, got 1"),
    (lambda: inspection.gradient_norms(tiny(), X, [0, 1]), TypeError, "y must be a torch.Tensor, got list"),
    (
        lambda: inspection.gradient_norms(tiny(), X, LABELS[:1]),
        ValueError,
        "y must hold one int64 class label",
    ),
    (
        lambda: inspection.gradient_norms(tiny(), X, LABELS.float()),
        ValueError,
        "got torch.float32 of shape (2,)",
    ),
    (lambda: inspection.gradient_norms(tiny(), X, LABELS, 5), TypeError, "layer_type must be a layer class"),
    (
        lambda: source.show_source(5),
        TypeError,
        "obj must be a function, class, method or module, got int",
    ),
    # pretrained
    (
        lambda: pretrained.offline_proof("resnet49"),
        ValueError,
        "arch must be one of ['resnet101', 'resnet152'",
    ),
    (lambda: pretrained.offline_proof("resnet18", seed=1.5), TypeError, "seed must be an int >= 0, got 1.5"),
    (lambda: pretrained.load_torchvision_state_dict(5), TypeError, "state_dict must be a file path"),
    (lambda: pretrained.load_torchvision_state_dict({}, 18), ValueError, "arch must be one of"),
    (
        lambda: pretrained.top_k(tiny(), X.numpy(), ["a"]),
        TypeError,
        "batch must be a torch.Tensor, got ndarray",
    ),
    (
        lambda: pretrained.top_k(tiny(), X, "abc"),
        TypeError,
        "categories must be a list of class names, got str",
    ),
    (lambda: pretrained.top_k(tiny(), X, ["a", "b"], k=0), ValueError, "k must be a positive int, got 0"),
    (
        lambda: pretrained.top_k(tiny(), X, list("abcdefghij"), k=11),
        ValueError,
        "k must be at most the 10 categories, got 11",
    ),
    (lambda: pretrained.top_k(models.resnet18, X, ["a"]), TypeError, "model must be a torch.nn.Module"),
    (
        lambda: pretrained.download_state_dict("ResNet18_Weights.IMAGENET1K_V1", -1),
        ValueError,
        "timeout must be",
    ),
    (
        lambda: pretrained.pretrained_resnet(timeout="5"),
        TypeError,
        "timeout must be a finite number > 0, got '5'",
    ),
    (lambda: pretrained.for_transfer(models.resnet18, 5), TypeError, "model must be a torch.nn.Module"),
    (lambda: pretrained.for_transfer(tiny(), 5.0), TypeError, "num_classes must be a positive int, got 5.0"),
    (
        lambda: pretrained.for_transfer(tiny(), 5, ["features"]),
        ValueError,
        "mode must be one of ['features', 'fine",
    ),
    (lambda: pretrained.for_transfer(nn.Sequential(nn.Linear(2, 2)), 5), TypeError, "got Sequential"),
    # proofs
    (lambda: proofs.randomise_batchnorm("model"), TypeError, "model must be a torch.nn.Module, got 'model'"),
    (lambda: proofs.randomise_batchnorm(tiny(), 1.5), TypeError, "seed must be an int >= 0, got 1.5"),
    (lambda: proofs.compare_models(models.resnet18, tiny(), X), TypeError, "ours must be a torch.nn.Module"),
    (lambda: proofs.compare_models(tiny(), tiny(), X.numpy()), TypeError, "x must be a torch.Tensor batch"),
    (
        lambda: proofs.compare_models(tiny(), tiny(), X, rtol=-1),
        ValueError,
        "rtol must be a finite number >= 0",
    ),
    (
        lambda: proofs.compare_models(tiny(), tiny(), X, load_weights=1),
        TypeError,
        "load_weights must be True or",
    ),
    # figures
    (lambda: figures.cell_roles(4, 1, []), ValueError, "windows must be a non-empty list of windows"),
    (lambda: figures.cell_roles(4.0, 1, [[0]]), TypeError, "size must be a positive int, got 4.0"),
    (lambda: figures.cell_roles(4, -1, [[0]]), ValueError, "padding must be an int >= 0, got -1"),
    (lambda: figures.conv_windows(4, 0), ValueError, "kernel_size must be >= 1, got 0"),
    (lambda: figures.draw_pool_1d(8, 2, ceil_mode="yes"), TypeError, "ceil_mode must be a bool, got 'yes'"),
    (lambda: figures.draw_conv_2d(32, 3), ValueError, "draw_conv_2d draws one panel per output cell"),
    # degradation
    (lambda: degradation.run_arm("ResNet-21", 0), ValueError, "arm must be one of 'plain-20'"),
    (lambda: degradation.run_arm("ResNet-20", 0, {}), ValueError, "settings lacks ['batch_size'"),
    (lambda: degradation.run_experiment(5, seeds=1), TypeError, "out must be a file path"),
    (
        lambda: degradation.run_experiment("x.json", arms="ResNet-20"),
        TypeError,
        "arms must be a tuple of names",
    ),
    (
        lambda: degradation.run_experiment("x.json", steps=0),
        ValueError,
        "steps must be a positive int, got 0",
    ),
    (lambda: degradation.run_experiment("x.json", lr="0.1"), TypeError, "lr must be a finite number > 0"),
    (lambda: degradation.load_degradation(5), TypeError, "path must be a file path"),
    (lambda: degradation.final_values([], "ResNet-20"), TypeError, "result must be what load_degradation"),
    (
        lambda: degradation.final_values({"runs": []}, "ResNet-20", "acc"),
        ValueError,
        "key must be one of 'train_",
    ),
]


@pytest.mark.parametrize(
    "call, error, fragment",
    CASES,
    ids=[f"{i}-{error.__name__}-{fragment[:30]}" for i, (_, error, fragment) in enumerate(CASES)],
)
def test_bad_input_is_refused_clearly(call, error, fragment):
    with pytest.raises(error, match=re.escape(fragment)):
        call()


@pytest.mark.parametrize("build", [models.resnet18, tiny], ids=["ResNet", "CifarResNet"])
def test_good_inputs_still_pass_the_input_check(build):
    model = build().eval()
    with torch.no_grad():
        expected = model(X)
        # channels_last is a memory layout, not another shape: the check must let it through.
        torch.testing.assert_close(model(X.to(memory_format=torch.channels_last)), expected)
        # Under autocast the model computes in bfloat16; a bfloat16 input is fine there.
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert model(X.bfloat16()).shape == expected.shape
        # A model in half precision takes half-precision images.
        assert model.to(torch.bfloat16)(X.bfloat16()).dtype == torch.bfloat16


def test_the_input_check_runs_on_the_meta_device_through_functional_call():
    # benchmark.count_step_flops calls models this way: shapes only, no data.
    from torch.func import functional_call

    model = tiny()
    state = {k: torch.empty_like(v, device="meta") for k, v in model.state_dict().items()}
    out = functional_call(model, state, (torch.empty(2, 3, 16, 16, device="meta"),))
    assert out.shape == (2, 10) and out.device.type == "meta"
    with pytest.raises(ValueError, match="expected an input of shape"):
        functional_call(model, state, (torch.empty(2, 1, 16, 16, device="meta"),))


def test_a_model_without_parameters_is_traced_on_the_cpu():
    # It used to end in a bare StopIteration (no parameter to take the device from).
    calls = inspection.trace_layers(nn.MaxPool2d(2), (1, 3, 8, 8))
    assert [(c.kind, c.in_size, c.out_size) for c in calls] == [("pool", 8, 4)]
    assert inspection.count_parameters(nn.ReLU()) == 0


def test_numpy_arrays_are_named_in_the_message():
    with pytest.raises(TypeError, match=r"torch.from_numpy\(x\).float\(\)"):
        tiny()(np.zeros((2, 3, 16, 16), dtype=np.float32))
