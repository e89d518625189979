"""torchvision's ImageNet weights, in this library's ResNets.

`resnet_lib.models` names its layers as torchvision does (``conv1``, ``layer1.0.bn2``,
``fc``, ...), so a torchvision state dict loads into our ResNet with ``strict=True``:
every key must match and every shape must fit, or loading fails loudly.

- `get_weights`: a torchvision weights enum (e.g. ``ResNet50_Weights.IMAGENET1K_V2``)
  from its name; it carries the preprocessing (``weights.transforms()``) and the
  1,000 class names (``weights.meta["categories"]``), no download needed for those.
- `download_state_dict`: the weights themselves (about 100 MB for ResNet-50), cached by
  torch.hub; None, quickly, when the download server cannot be reached.
- `load_torchvision_state_dict`: the one loading path, used for downloaded weights and
  for a state dict saved on disk alike.
- `pretrained_resnet`: the three together; `top_k`: the best classes of an image.
- `offline_proof`: without a network, checks the same loading path on torchvision's
  randomly initialised ResNet (BatchNorm randomised) saved to a file: both models give
  the same outputs in eval and train mode, and the same gradients.
- `for_transfer`: a trained ResNet set up for a new task, by feature extraction (only a
  new last layer learns) or fine-tuning (the last stage learns too).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resnet_lib.models import resnet18, resnet34, resnet50, resnet101, resnet152
from resnet_lib.proofs import compare_models, randomise_batchnorm
from resnet_lib.tools.data import reachable
from resnet_lib.tools.validate import (
    check_bool,
    check_int,
    check_module,
    check_number,
    check_path,
    check_tensor,
)

__all__ = [
    "download_state_dict",
    "for_transfer",
    "get_weights",
    "load_torchvision_state_dict",
    "offline_proof",
    "pretrained_resnet",
    "top_k",
]

#: Our constructor for each torchvision ResNet weights enum.
ARCHITECTURES = {
    "ResNet18_Weights": ("resnet18", resnet18),
    "ResNet34_Weights": ("resnet34", resnet34),
    "ResNet50_Weights": ("resnet50", resnet50),
    "ResNet101_Weights": ("resnet101", resnet101),
    "ResNet152_Weights": ("resnet152", resnet152),
}
WEIGHTS_HOST = "download.pytorch.org"


def get_weights(weights: Any = "ResNet50_Weights.IMAGENET1K_V2") -> Any:
    """A torchvision ResNet weights enum, from itself or its name ("ResNet50_Weights.IMAGENET1K_V2").

    Raises ValueError for a name torchvision does not know, or weights of another
    architecture (only ResNet-18/34/50/101/152 fit this library's models).
    """
    from torchvision.models import get_weight
    from torchvision.models._api import WeightsEnum

    if isinstance(weights, str):
        try:
            weights = get_weight(weights)
        except (ValueError, KeyError, AttributeError) as e:
            raise ValueError(
                f"unknown weights {weights!r}: use a name like 'ResNet50_Weights.IMAGENET1K_V2' ({e})"
            ) from None
    if not isinstance(weights, WeightsEnum):
        raise TypeError(
            f"weights must be a torchvision weights enum or its name, got {type(weights).__name__}"
        )
    if type(weights).__name__ not in ARCHITECTURES:
        raise ValueError(
            f"{type(weights).__name__} are not weights of a ResNet this library builds "
            f"(one of {', '.join(ARCHITECTURES)})"
        )
    return weights


def _cached_file(weights: Any) -> Path:
    """Where torch.hub keeps (or will keep) the downloaded file."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


def download_state_dict(weights: Any, timeout: float = 5.0, progress: bool = False) -> dict | None:
    """The weights' state dict: from torch.hub's cache, else downloaded; None if unreachable.

    The server is first asked for a connection for at most `timeout` seconds (in a
    thread, so a machine without DNS does not hang either); only then does the real
    download start (torch.hub, checked against the hash in the file name).
    """
    weights = get_weights(weights)
    check_number("timeout", timeout, strict=True)
    check_bool("progress", progress)
    if not _cached_file(weights).is_file() and not reachable(WEIGHTS_HOST, timeout):
        return None
    return weights.get_state_dict(progress=progress, check_hash=True)


def load_torchvision_state_dict(
    state_dict: dict | str | os.PathLike,
    arch: str = "resnet50",
) -> nn.Module:
    """Our ResNet `arch`, with a torchvision state dict loaded strictly, in eval mode.

    Args:
        state_dict: The dict, or a file saved with
            ``torch.save(model.state_dict(), path)`` (read with ``weights_only=True``:
            tensors only, no code).
        arch: ``"resnet18"`` ... ``"resnet152"``; the number of classes follows the
            state dict's ``fc.weight``.
    """
    build, state_dict = _builder(arch), _read_state_dict(state_dict)
    model = build(num_classes=state_dict["fc.weight"].shape[0])
    # Strict: any missing, extra or misshapen weight is an error.
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def _builder(arch: str) -> Any:
    """Our constructor of `arch` ("resnet18" ... "resnet152")."""
    constructors = dict(ARCHITECTURES.values())
    if arch not in constructors:
        raise ValueError(f"arch must be one of {sorted(constructors)}, got {arch!r}")
    return constructors[arch]


def _read_state_dict(state_dict: dict | str | os.PathLike) -> dict:
    """`state_dict` itself, or read from its file (tensors only); it must be a ResNet's."""
    if not isinstance(state_dict, dict):
        check_path("state_dict", state_dict)  # neither a dict nor a file: say so before torch.load does
        state_dict = torch.load(state_dict, map_location="cpu", weights_only=True)
    if "fc.weight" not in state_dict:
        raise ValueError(
            "not a ResNet state dict: it has no 'fc.weight' (a full checkpoint? pass its ['model'])"
        )
    return state_dict


def pretrained_resnet(
    weights: Any = "ResNet50_Weights.IMAGENET1K_V2", timeout: float = 5.0
) -> nn.Module | None:
    """Our ResNet with torchvision's pretrained `weights`, in eval mode; None when offline."""
    weights = get_weights(weights)
    check_number("timeout", timeout, strict=True)
    state_dict = download_state_dict(weights, timeout=timeout)
    if state_dict is None:
        return None
    return load_torchvision_state_dict(state_dict, ARCHITECTURES[type(weights).__name__][0])


@torch.no_grad()
def top_k(
    model: nn.Module, batch: torch.Tensor, categories: list[str], k: int = 5
) -> list[tuple[str, float]]:
    """The `k` most probable classes of the first image of `batch` (preprocessed), with probabilities."""
    check_module("model", model)
    check_tensor("batch", batch)
    if not isinstance(categories, (list, tuple)):
        raise TypeError(f"categories must be a list of class names, got {type(categories).__name__}")
    check_int("k", k)
    if batch.dim() != 4:
        raise ValueError(f"batch must be (N, 3, H, W), got shape {tuple(batch.shape)}: add .unsqueeze(0)")
    model.eval()
    probs = model(batch)[0].softmax(0)
    if len(categories) != len(probs):
        raise ValueError(f"{len(categories)} category names for a model with {len(probs)} outputs")
    if k > len(categories):
        raise ValueError(f"k must be at most the {len(categories)} categories, got {k}")
    values, indices = probs.topk(k)
    return [(categories[i], p) for i, p in zip(indices.tolist(), values.tolist())]


def offline_proof(arch: str = "resnet50", seed: int = 0, image_size: int = 224) -> dict[str, Any]:
    """Check the loading path without a download: torchvision's own (random) ResNet, saved and reloaded.

    Builds ``torchvision.models.<arch>()`` with seeded random weights and randomised
    BatchNorm (`randomise_batchnorm`: at default init a BatchNorm is a positive scale
    that hides a misplaced ReLU), saves its state dict to a temporary file and loads
    that file into our ResNet with `load_torchvision_state_dict` (the function the
    pretrained weights go through). Then `compare_models` runs both, as loaded, on the same random
    batch of 2 images: outputs in eval mode, outputs in train mode, every gradient and
    the updated running statistics.

    Args:
        arch: ``"resnet18"``, ``"resnet34"``, ``"resnet50"``, ``"resnet101"`` or ``"resnet152"``.
        seed: Seed of the weights, the BatchNorm values and the batch.
        image_size: Height and width of the random images.

    Returns:
        ``{"keys": number of tensors loaded, "eval", "train", "gradients", "running_stats":
        largest |ours - torchvision| of each check, "max_difference": the largest of the
        four, "equal": every check within `compare_models`' tolerance, "identical": all four
        differences exactly 0}``.
    """
    import torchvision

    archs = sorted(name for name, _ in ARCHITECTURES.values())
    if arch not in archs:
        raise ValueError(f"arch must be one of {archs}, got {arch!r}")
    check_int("seed", seed, minimum=0)
    check_int("image_size", image_size)
    torch.manual_seed(seed)
    reference = randomise_batchnorm(getattr(torchvision.models, arch)(), seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{arch}.pt"
        torch.save(reference.state_dict(), path)
        ours = load_torchvision_state_dict(path, arch)
    x = torch.randn(2, 3, image_size, image_size, generator=torch.Generator().manual_seed(seed))
    # load_weights=False: compare what the file loaded, do not load the reference's weights again.
    report = compare_models(ours, reference, x, load_weights=False)
    differences = report.differences()
    largest = max(differences.values())
    return {
        "keys": len(reference.state_dict()),
        **differences,
        "max_difference": largest,
        "equal": report.equal,
        "identical": largest == 0,
    }


#: What `for_transfer` leaves trainable in each mode (the rest is frozen).
TRANSFER_MODES: dict[str, str] = {
    "features": "the new classifier",
    "finetune": "the last stage, what follows it and the new classifier",
}


def _frozen(bn: nn.BatchNorm2d) -> nn.Module:
    """A FrozenBatchNorm2d holding `bn`'s learned scale and shift and its running statistics."""
    from torchvision.ops import FrozenBatchNorm2d

    frozen = FrozenBatchNorm2d(bn.num_features, eps=bn.eps).to(bn.running_mean.device)
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(frozen, name).copy_(getattr(bn, name))
    return frozen


def _freeze(module: nn.Module, keep: tuple[str, ...] = ()) -> None:
    """Freeze `module`'s children but those named in `keep`: no gradients, BatchNorm frozen."""
    for name, child in module.named_children():
        if name in keep:
            continue
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, _frozen(child))
        else:
            child.requires_grad_(False)
            _freeze(child)


def _head_names(model: nn.Module, num_classes: int, mode: str) -> tuple[str, str]:
    """The names of `model`'s classifier and last stage; clear errors for `for_transfer`'s arguments."""
    from torchvision.models import ResNet as TorchvisionResNet

    if not isinstance(mode, str) or mode not in TRANSFER_MODES:
        raise ValueError(f"mode must be one of {sorted(TRANSFER_MODES)}, got {mode!r}")
    check_int("num_classes", num_classes)
    check_module("model", model)
    if isinstance(model, TorchvisionResNet):  # our ResNet's names are torchvision's
        return "fc", "layer4"
    classifier, last_stage = getattr(model, "classifier_name", None), getattr(model, "last_stage_name", None)
    layers = dict(model.named_children())
    if not (isinstance(layers.get(classifier), nn.Linear) and last_stage in layers):
        raise TypeError(
            "model must be a ResNet or CifarResNet of resnet_lib, or a torchvision ResNet, "
            f"got {type(model).__name__}"
        )
    return classifier, last_stage


def for_transfer(
    model: nn.Module,
    num_classes: int,
    mode: str = "features",
) -> nn.Module:
    """Set a trained ResNet up for a new task: a new classifier, the rest frozen or not.

    Two ways to reuse learned features for other classes:

    - ``"features"`` (feature extraction): the trained network is a fixed feature
      extractor and only the new classifier learns. Quick, and enough when the new
      images resemble the ones it was trained on.
    - ``"finetune"``: the last stage (``layer4`` of an ImageNet ResNet, ``layer3`` of a
      CIFAR one, with the ``bn_final`` that follows it in a pre-activation net) learns
      too, so the most specific features adapt to the new task; it needs more data and
      a small learning rate.

    The model names its classifier and its last stage (``model.classifier_name``,
    ``model.last_stage_name``), so this works for `ResNet` and `CifarResNet` alike.

    A frozen part must stay exactly as trained, BatchNorm included. A BatchNorm layer
    without gradients would still normalise with each batch's statistics in train mode
    and keep updating its running averages, so the frozen ones are replaced by
    `torchvision.ops.FrozenBatchNorm2d`, which always uses the trained statistics.

    Args:
        model: A `ResNet` or `CifarResNet` of this library, or a torchvision ResNet,
            usually with trained weights.
        num_classes: Number of classes of the new task.
        mode: ``"features"`` or ``"finetune"`` (see `TRANSFER_MODES`).

    Returns:
        The same model, changed in place: its classifier is a new ``nn.Linear`` with
        `num_classes` outputs.
    """
    classifier, last_stage = _head_names(model, num_classes, mode)
    old = getattr(model, classifier)
    new = nn.Linear(old.in_features, num_classes).to(old.weight.device)
    setattr(model, classifier, new)
    children = [name for name, _ in model.named_children()]
    # Children are registered in the order the forward pass runs them, so the last
    # stage and everything after it (a final BatchNorm, the pooling, the classifier)
    # are the end.
    if mode == "finetune":
        keep = children[children.index(last_stage) :]
    else:
        keep = [classifier]
    _freeze(model, keep=tuple(keep))
    return model
