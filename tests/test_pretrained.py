"""torchvision weights in our ResNets: one strict loading path, a quick offline fallback, clear errors."""

import time

import pytest
import torch
import torchvision

from resnet_lib import count_parameters, resnet18, resnet50
from resnet_lib.cifar import cifar_resnet
from resnet_lib.tools import pretrained
from resnet_lib.tools.pretrained import (
    for_transfer,
    get_weights,
    load_torchvision_state_dict,
    offline_proof,
    top_k,
)
from resnet_lib.training import train


def test_offline_proof_compares_eval_train_and_gradients():
    result = offline_proof("resnet18", image_size=32)
    assert result == {
        "keys": len(torchvision.models.resnet18().state_dict()),
        "eval": 0.0,
        "train": 0.0,
        "gradients": 0.0,
        "running_stats": 0.0,
        "max_difference": 0.0,
        "equal": True,
        "identical": True,
    }  # tests/test_proofs.py: broken models make it report "equal": False


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"arch": "resnet49"}, ValueError, r"arch must be one of \['resnet101', 'resnet152', 'resnet18', "),
        ({"arch": "resnet18", "image_size": 0}, ValueError, "image_size"),
    ],
)
def test_offline_proof_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        offline_proof(**kwargs)


def test_state_dict_file_loads_strictly(tmp_path):
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(num_classes=7).eval()
    torch.save(reference.state_dict(), tmp_path / "r18.pt")
    ours = load_torchvision_state_dict(tmp_path / "r18.pt", "resnet18")
    assert not ours.training and ours.fc.out_features == 7
    x = torch.randn(1, 3, 64, 64)
    assert torch.equal(ours(x), reference(x))
    state = reference.state_dict()
    del state["layer1.0.bn1.running_mean"]
    with pytest.raises(RuntimeError, match="Missing key"):
        load_torchvision_state_dict(state, "resnet18")
    with pytest.raises(RuntimeError, match="size mismatch|Unexpected key|Missing key"):
        load_torchvision_state_dict(reference.state_dict(), "resnet34")


def test_weights_enum_and_metadata_need_no_network():
    weights = get_weights("ResNet50_Weights.IMAGENET1K_V2")
    assert weights is torchvision.models.ResNet50_Weights.IMAGENET1K_V2
    assert get_weights(weights) is weights
    assert len(weights.meta["categories"]) == 1000
    batch = weights.transforms()(torch.rand(3, 300, 400)).unsqueeze(0)
    assert batch.shape == (1, 3, 224, 224)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        ("ResNet50_Weights.NOPE", ValueError, "unknown weights"),
        ("VGG16_Weights.IMAGENET1K_V1", ValueError, "not weights of a ResNet"),
        (50, TypeError, "weights enum"),
    ],
)
def test_bad_weights_are_clear(bad, error, match):
    with pytest.raises(error, match=match):
        get_weights(bad)


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="arch must be one of"):
        load_torchvision_state_dict({}, "resnet49")
    with pytest.raises(ValueError, match="no 'fc.weight'"):
        load_torchvision_state_dict({"model": {}}, "resnet18")
    model = load_torchvision_state_dict(torchvision.models.resnet18(num_classes=3).state_dict(), "resnet18")
    with pytest.raises(ValueError, match="unsqueeze"):
        top_k(model, torch.rand(3, 32, 32), ["a", "b", "c"])
    with pytest.raises(ValueError, match="2 category names"):
        top_k(model, torch.rand(1, 3, 32, 32), ["a", "b"])
    best = top_k(model, torch.rand(1, 3, 32, 32), ["a", "b", "c"], k=2)
    assert len(best) == 2 and best[0][1] >= best[1][1]


def test_unreachable_server_gives_none_quickly(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # nothing cached
    monkeypatch.setattr(pretrained, "WEIGHTS_HOST", "unreachable.invalid")
    start = time.perf_counter()
    assert pretrained.pretrained_resnet("ResNet18_Weights.IMAGENET1K_V1", timeout=1.0) is None
    assert time.perf_counter() - start < 5


def _trainable(model):
    return {name for name, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("mode, trainable_stages", [("features", {"fc"}), ("finetune", {"layer4", "fc"})])
def test_for_transfer_leaves_only_the_chosen_part_trainable(mode, trainable_stages):
    model = for_transfer(resnet50(), num_classes=10, mode=mode)
    assert {name.split(".")[0] for name in _trainable(model)} == trainable_stages
    assert model.fc.out_features == 10
    if mode == "features":
        assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 2048 * 10 + 10
    frozen_bn = [m for m in model.modules() if isinstance(m, torchvision.ops.FrozenBatchNorm2d)]
    live_bn = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(frozen_bn) + len(live_bn) == 53 and (len(live_bn) == 0) == (mode == "features")


def test_frozen_part_keeps_its_function_and_statistics_while_training():
    torch.manual_seed(0)
    original = resnet18().eval()
    with torch.no_grad():  # trained-looking BatchNorm statistics, not the initial 0 and 1
        for m in original.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    model = for_transfer(load_torchvision_state_dict(original.state_dict(), "resnet18"), 3, "features")
    frozen = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fc.")}
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 3, (8,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    train(model, loader, epochs=2, lr=0.1, progress=False, device="cpu")
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in frozen.items())  # BatchNorm statistics included
    # In eval mode the frozen backbone computes what the original network computes.
    features = {}
    for net, key in ((original, "original"), (model.eval(), "transfer")):
        net.avgpool.register_forward_hook(lambda mod, inp, out, key=key: features.__setitem__(key, out))
        net(x)
    torch.testing.assert_close(features["transfer"], features["original"])


def test_for_transfer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of \\['features', 'finetune'\\], got 'all'"):
        for_transfer(resnet18(), 5, mode="all")
    with pytest.raises(ValueError, match="num_classes must be a positive int, got 0"):
        for_transfer(resnet18(), 0)
    with pytest.raises(
        TypeError,
        match="model must be a ResNet or CifarResNet of resnet_lib, or a torchvision ResNet, got Sequential",
    ):
        for_transfer(torch.nn.Sequential(torch.nn.Linear(2, 2)), 5)


@pytest.mark.parametrize(
    "build, last_stage, after_it",
    [
        (resnet18, "layer4", 0),
        (lambda: cifar_resnet(20), "layer3", 0),
        (lambda: cifar_resnet(20, shortcut=None), "layer3", 0),
        (lambda: cifar_resnet(20, preact=True), "layer3", 2 * 64),  # bn_final follows layer3: it learns too
        (torchvision.models.resnet18, "layer4", 0),
    ],
    ids=["ResNet", "CifarResNet", "plain", "preact", "torchvision"],
)
def test_for_transfer_trains_the_same_parts_of_every_model_kind(build, last_stage, after_it):
    stage = count_parameters(getattr(build(), last_stage))
    features = for_transfer(build(), num_classes=5, mode="features")
    width = features.fc.in_features
    assert count_parameters(features, trainable_only=True) == width * 5 + 5
    finetune = for_transfer(build(), num_classes=5, mode="finetune")
    # Before this was generic, a CIFAR net's "finetune" silently trained only the classifier.
    assert count_parameters(finetune, trainable_only=True) == stage + after_it + width * 5 + 5
    assert features.fc.out_features == finetune.fc.out_features == 5
