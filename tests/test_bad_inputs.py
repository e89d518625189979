"""Bad input is refused clearly at the edges a learner reaches: the builders, the model's
entry, the measuring and proof functions, figures, pretrained loading, the experiments.

Each case is a call, the exception it must raise (TypeError for a wrong type, ValueError
for a wrong value) and what the message must name: the argument and, where it helps,
the bad value. Whole wordings are left to the code. A bool is not an int, 18.0 is not
18, a NumPy array is not a tensor. The blocks and the shown code check nothing: where
they are given a bad size, PyTorch's own error names the problem (the last tests).
"""

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


CASES = {
    # arithmetic (the checks of the shown functions sit in their decorator)
    "receptive_field-3-tuple": (lambda: arithmetic.receptive_field([(3, 1, 1)]), ValueError, ["layers[0]"]),
    "receptive_field-int": (lambda: arithmetic.receptive_field(5), TypeError, ["layers", "5"]),
    "receptive_field-float": (
        lambda: arithmetic.receptive_field([(3, 1.0, 1, 1)]),
        TypeError,
        ["stride", "1.0"],
    ),
    "conv_output_size-float": (lambda: arithmetic.conv_output_size(18.0, 3), TypeError, ["size", "18.0"]),
    "pool_output_size-padding": (
        lambda: arithmetic.pool_output_size(8, 3, padding=-1),
        ValueError,
        ["padding"],
    ),
    "same_padding-bool": (lambda: arithmetic.same_padding(True), TypeError, ["kernel_size", "True"]),
    # cifar_resnet
    "cifar-depth": (lambda: cifar.cifar_resnet(21), ValueError, ["depth", "21"]),
    "cifar-depth-float": (lambda: cifar.cifar_resnet(20.0), TypeError, ["depth", "20.0"]),
    "cifar-shortcut": (lambda: cifar.cifar_resnet(20, "a"), ValueError, ["shortcut", "'a'"]),
    "cifar-widths-int": (lambda: cifar.cifar_resnet(20, widths=16), TypeError, ["widths", "16"]),
    "cifar-widths-two": (lambda: cifar.cifar_resnet(20, widths=(16, 32)), ValueError, ["widths"]),
    "cifar-widths-zero": (lambda: cifar.cifar_resnet(20, widths=(16, 0, 64)), ValueError, ["widths[1]"]),
    "cifar-widths-shrink": (lambda: cifar.cifar_resnet(20, widths=(32, 16, 64)), ValueError, ["widths"]),
    "cifar-num_classes": (lambda: cifar.cifar_resnet(20, num_classes=0), ValueError, ["num_classes"]),
    "cifar-zero_init": (
        lambda: cifar.cifar_resnet(20, zero_init_residual=1),
        TypeError,
        ["zero_init_residual"],
    ),
    "cifar-preact": (lambda: cifar.cifar_resnet(20, preact="yes"), TypeError, ["preact"]),
    "cifar-plain-preact": (lambda: cifar.cifar_resnet(20, None, preact=True), ValueError, ["preact"]),
    # resnet and its family
    "resnet-depth-float": (lambda: models.resnet(18.0), ValueError, ["depth", "18.0"]),
    "resnet-depth-bool": (lambda: models.resnet(True), ValueError, ["depth", "True"]),
    "resnet-zero_init": (
        lambda: models.resnet(18, zero_init_residual=1),
        TypeError,
        ["zero_init_residual"],
    ),
    "resnet-in_channels": (lambda: models.resnet18(in_channels=0), ValueError, ["in_channels", "0"]),
    "resnet50-stride_in_1x1": (lambda: models.resnet50(stride_in_1x1=1), TypeError, ["stride_in_1x1"]),
    "resnext-avg_down": (lambda: models.resnext50_32x4d(avg_down="no"), TypeError, ["avg_down"]),
    # the model's entry
    "input-int": (lambda: tiny()(X.long()), TypeError, ["torch.int64"]),
    "input-float64": (lambda: tiny()(X.double()), TypeError, ["torch.float64", "torch.float32"]),
    "input-numpy": (lambda: tiny()(X.numpy()), TypeError, ["ndarray"]),
    "input-channels": (lambda: tiny()(X[:, :1]), ValueError, ["(2, 1, 16, 16)"]),
    "input-3d": (lambda: tiny()(X[0]), ValueError, ["(3, 16, 16)"]),
    "input-resnet": (lambda: models.resnet18()(X[:, :1]), ValueError, ["(batch, 3, height, width)"]),
    "forward_head-2d": (
        lambda: models.resnet18().forward_head(torch.zeros(2, 512)),
        ValueError,
        ["forward_head", "512"],
    ),
    "forward_head-width": (
        lambda: tiny().forward_head(torch.zeros(2, 32, 4, 4)),
        ValueError,
        ["64", "(2, 32, 4, 4)"],
    ),
    # inspection
    "count_parameters-builder": (
        lambda: inspection.count_parameters(models.resnet18),
        TypeError,
        ["model"],
    ),
    "trace_layers-class": (
        lambda: inspection.trace_layers(models.ResNet),
        TypeError,
        ["model", "resnet18()"],
    ),
    "trace_layers-3d": (lambda: inspection.trace_layers(tiny(), (3, 16, 16)), ValueError, ["input_size"]),
    "trace_layers-int": (lambda: inspection.trace_layers(tiny(), 16), TypeError, ["input_size"]),
    "trace_layers-zero": (
        lambda: inspection.trace_layers(tiny(), (1, 3, 16, 0)),
        ValueError,
        ["input_size[3]"],
    ),
    "trace_layers-no-parameters": (
        lambda: inspection.trace_layers(nn.MaxPool2d(2), (1, 3, 8, 8)),
        ValueError,
        ["MaxPool2d", "no parameters"],
    ),
    "model_receptive_field-no-layers": (
        lambda: inspection.model_receptive_field(nn.Linear(3, 3), (1, 3, 8, 3)),
        ValueError,
        ["Linear"],
    ),
    "measure_receptive_field-zero": (
        lambda: inspection.measure_receptive_field(tiny(), 0),
        ValueError,
        ["image_size", "0"],
    ),
    "measure_receptive_field-no-conv": (
        lambda: inspection.measure_receptive_field(nn.ReLU(), 8),
        ValueError,
        ["ReLU"],
    ),
    "measure_receptive_field-small": (
        lambda: inspection.measure_receptive_field(tiny(), 16),
        ValueError,
        ["image_size=16"],
    ),
    "saved_tensor_bytes-numpy": (
        lambda: inspection.saved_tensor_bytes(tiny(), X.numpy()),
        TypeError,
        ["x", "ndarray"],
    ),
    "in_mode-str": (lambda: inspection.in_mode("model", True).__enter__(), TypeError, ["model"]),
    "show_source-int": (lambda: source.show_source(5), TypeError, ["obj", "int"]),
    # proofs
    "randomise_batchnorm-str": (lambda: proofs.randomise_batchnorm("model"), TypeError, ["model"]),
    "randomise_batchnorm-seed": (lambda: proofs.randomise_batchnorm(tiny(), 1.5), TypeError, ["seed", "1.5"]),
    "compare_models-builder": (
        lambda: proofs.compare_models(models.resnet18, tiny(), X),
        TypeError,
        ["ours"],
    ),
    "compare_models-numpy": (lambda: proofs.compare_models(tiny(), tiny(), X.numpy()), TypeError, ["x"]),
    "compare_models-one": (lambda: proofs.compare_models(tiny(), tiny(), X[:1]), ValueError, ["x"]),
    "compare_models-rtol": (lambda: proofs.compare_models(tiny(), tiny(), X, rtol=-1), ValueError, ["rtol"]),
    "compare_models-load_weights": (
        lambda: proofs.compare_models(tiny(), tiny(), X, load_weights=1),
        TypeError,
        ["load_weights"],
    ),
    # pretrained
    "offline_proof-arch": (lambda: pretrained.offline_proof("resnet49"), ValueError, ["arch", "resnet49"]),
    "offline_proof-seed": (lambda: pretrained.offline_proof("resnet18", seed=1.5), TypeError, ["seed"]),
    "load_torchvision_state_dict-int": (
        lambda: pretrained.load_torchvision_state_dict(5),
        TypeError,
        ["state_dict"],
    ),
    "load_torchvision_state_dict-arch": (
        lambda: pretrained.load_torchvision_state_dict({}, 18),
        ValueError,
        ["arch"],
    ),
    "top_k-numpy": (lambda: pretrained.top_k(tiny(), X.numpy(), ["a"]), TypeError, ["batch"]),
    "top_k-str": (lambda: pretrained.top_k(tiny(), X, "abc"), TypeError, ["categories"]),
    "top_k-zero": (lambda: pretrained.top_k(tiny(), X, ["a", "b"], k=0), ValueError, ["k"]),
    "top_k-too-many": (
        lambda: pretrained.top_k(tiny(), X, list("abcdefghij"), k=11),
        ValueError,
        ["k", "11"],
    ),
    "top_k-builder": (lambda: pretrained.top_k(models.resnet18, X, ["a"]), TypeError, ["model"]),
    "download_state_dict-timeout": (
        lambda: pretrained.download_state_dict("ResNet18_Weights.IMAGENET1K_V1", -1),
        ValueError,
        ["timeout"],
    ),
    "pretrained_resnet-timeout": (lambda: pretrained.pretrained_resnet(timeout="5"), TypeError, ["timeout"]),
    "for_transfer-builder": (lambda: pretrained.for_transfer(models.resnet18, 5), TypeError, ["model"]),
    "for_transfer-float": (lambda: pretrained.for_transfer(tiny(), 5.0), TypeError, ["num_classes"]),
    "for_transfer-mode": (lambda: pretrained.for_transfer(tiny(), 5, ["features"]), ValueError, ["mode"]),
    "for_transfer-sequential": (
        lambda: pretrained.for_transfer(nn.Sequential(nn.Linear(2, 2)), 5),
        TypeError,
        ["Sequential"],
    ),
    # figures
    "cell_roles-empty": (lambda: figures.cell_roles(4, 1, []), ValueError, ["windows"]),
    "cell_roles-float": (lambda: figures.cell_roles(4.0, 1, [[0]]), TypeError, ["size", "4.0"]),
    "cell_roles-padding": (lambda: figures.cell_roles(4, -1, [[0]]), ValueError, ["padding", "-1"]),
    "conv_windows-kernel": (lambda: figures.conv_windows(4, 0), ValueError, ["kernel_size", "0"]),
    "draw_pool_1d-ceil_mode": (lambda: figures.draw_pool_1d(8, 2, ceil_mode="yes"), TypeError, ["ceil_mode"]),
    "draw_conv_2d-too-big": (lambda: figures.draw_conv_2d(32, 3), ValueError, ["draw_conv_2d"]),
    "draw_accuracy_vs_cost-recipe": (
        lambda: figures.draw_accuracy_vs_cost([("resnet50", "IMAGENET1K_V2", 4.1, 25.6, 80.9)]),
        ValueError,
        ["recipe", "IMAGENET1K_V2"],
    ),
    # degradation
    "run_arm-arm": (lambda: degradation.run_arm("ResNet-21", 0), ValueError, ["arm", "ResNet-21"]),
    "run_arm-settings": (lambda: degradation.run_arm("ResNet-20", 0, {}), ValueError, ["settings"]),
    "run_experiment-out": (lambda: degradation.run_experiment(5, seeds=1), TypeError, ["out"]),
    "run_experiment-arms": (
        lambda: degradation.run_experiment("x.json", arms="ResNet-20"),
        TypeError,
        ["arms"],
    ),
    "run_experiment-steps": (lambda: degradation.run_experiment("x.json", steps=0), ValueError, ["steps"]),
    "run_experiment-lr": (lambda: degradation.run_experiment("x.json", lr="0.1"), TypeError, ["lr"]),
    "load_degradation-int": (lambda: degradation.load_degradation(5), TypeError, ["path"]),
    "final_values-list": (lambda: degradation.final_values([], "ResNet-20"), TypeError, ["result"]),
    "final_values-key": (
        lambda: degradation.final_values({"runs": []}, "ResNet-20", "acc"),
        ValueError,
        ["key", "acc"],
    ),
}


@pytest.mark.parametrize("call, error, named", CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_naming_the_argument(call, error, named):
    with pytest.raises(error) as raised:
        call()
    missing = [n for n in named if n not in str(raised.value)]
    assert not missing, f"{raised.value!r} does not name {missing}"


# The blocks and the shown code check nothing: PyTorch's errors there name the problem.
LEFT_TO_PYTORCH = {
    "block-channels": (
        lambda: blocks.BasicBlock(64, 64)(torch.zeros(1, 32, 8, 8)),
        RuntimeError,
        ["64", "32 channels"],
    ),
    "conv3x3-groups": (lambda: blocks.conv3x3(4, 6, groups=4), ValueError, ["groups"]),
    "gradient_norms-list": (lambda: inspection.gradient_norms(tiny(), X, [0, 1]), TypeError, ["target"]),
    "gradient_norms-short": (
        lambda: inspection.gradient_norms(tiny(), X, LABELS[:1]),
        ValueError,
        ["batch_size"],
    ),
}


@pytest.mark.parametrize("call, error, named", LEFT_TO_PYTORCH.values(), ids=LEFT_TO_PYTORCH.keys())
def test_inside_the_model_pytorch_names_the_problem(call, error, named):
    with pytest.raises(error) as raised:
        call()
    assert all(n in str(raised.value) for n in named), str(raised.value)


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
    # flops.count_step_flops calls models this way: shapes only, no data.
    from torch.func import functional_call

    model = tiny()
    state = {k: torch.empty_like(v, device="meta") for k, v in model.state_dict().items()}
    out = functional_call(model, state, (torch.empty(2, 3, 16, 16, device="meta"),))
    assert out.shape == (2, 10) and out.device.type == "meta"
    with pytest.raises(ValueError, match="expected an input of shape"):
        functional_call(model, state, (torch.empty(2, 1, 16, 16, device="meta"),))


def test_numpy_arrays_are_named_in_the_message():
    with pytest.raises(TypeError, match=r"torch.from_numpy\(x\).float\(\)"):
        tiny()(np.zeros((2, 3, 16, 16), dtype=np.float32))
