"""resnet_lib: the shared library of the "ResNets from Scratch" notebook series.

One module per concept, in the order the notebooks teach them:

- `arithmetic`: output sizes of convolutions and pooling layers (notebook 01)
- `blocks`: BasicBlock, Bottleneck and the pre-activation block (notebook 02)
- `models`: ResNet-18/34/50/101/152 (notebook 03), Wide ResNet, ResNeXt, ResNet-C/D (notebook 06)
- `inspection`: parameters, FLOPs, layer traces, memory, source viewer
- `device`, `timing`, `benchmark`: where code runs, timing it honestly, and the
  throughput grid of ResNet-18 ... 152 (notebook 04)
- `cifar`, `data`, `training`: the paper's CIFAR-10 nets, data sets, a training loop
  (notebooks 02 and 05)
- `proofs`: is our model the same function as the reference? (notebooks 03 and 05)
- `pretrained`: torchvision's ImageNet weights in our models (notebook 05)
- `tables`, `figures`: tables and figures the notebooks show
- `checks`: self-checks for the exercises
"""

import logging

from .arithmetic import ReceptiveField, conv_output_size, pool_output_size, receptive_field, same_padding
from .blocks import BasicBlock, Bottleneck, PreActBasicBlock, conv1x1, conv3x3, projection_shortcut
from .checks import check, check_block
from .cifar import CIFAR_DEPTHS, CifarResNet, PadShortcut, PlainBlock, cifar_resnet
from .data import SHAPE_CLASSES, image_data, load_cifar10, make_loaders, make_shapes
from .device import pick_device, seed_everything
from .inspection import (
    count_flops,
    count_parameters,
    gradient_norms,
    measure_receptive_field,
    model_receptive_field,
    saved_tensor_bytes,
    show_source,
    trace_layers,
)
from .models import (
    RESNET_CONFIGS,
    STAGE_WIDTHS,
    ResNet,
    resnet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    resnext50_32x4d,
    resnext101_32x8d,
    resnext101_64x4d,
    wide_resnet50_2,
    wide_resnet101_2,
)
from .pretrained import (
    for_transfer,
    get_weights,
    load_torchvision_state_dict,
    offline_proof,
    pretrained_resnet,
    top_k,
)
from .proofs import ProofReport, compare_models, randomise_batchnorm
from .training import AugmentedDataset, evaluate, load_checkpoint, save_checkpoint, train

# torch.utils.benchmark imports torch.utils.cpp_extension, which warns "No CUDA runtime is
# found" on machines with the CUDA compiler but no GPU (such as the CI machine). The warning
# says nothing about this library's results and would end up in stored notebook outputs.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

__all__ = [
    "AugmentedDataset",
    "BasicBlock",
    "Bottleneck",
    "check",
    "check_block",
    "CIFAR_DEPTHS",
    "cifar_resnet",
    "CifarResNet",
    "compare_models",
    "conv1x1",
    "conv3x3",
    "conv_output_size",
    "count_flops",
    "count_parameters",
    "evaluate",
    "for_transfer",
    "get_weights",
    "gradient_norms",
    "image_data",
    "load_checkpoint",
    "load_cifar10",
    "load_torchvision_state_dict",
    "make_loaders",
    "make_shapes",
    "measure_receptive_field",
    "model_receptive_field",
    "offline_proof",
    "PadShortcut",
    "pick_device",
    "PlainBlock",
    "PreActBasicBlock",
    "pool_output_size",
    "pretrained_resnet",
    "projection_shortcut",
    "ProofReport",
    "randomise_batchnorm",
    "receptive_field",
    "ReceptiveField",
    "ResNet",
    "resnet",
    "resnet101",
    "resnet152",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "resnext50_32x4d",
    "RESNET_CONFIGS",
    "same_padding",
    "save_checkpoint",
    "saved_tensor_bytes",
    "seed_everything",
    "SHAPE_CLASSES",
    "show_source",
    "STAGE_WIDTHS",
    "top_k",
    "trace_layers",
    "train",
    "wide_resnet101_2",
    "wide_resnet50_2",
]
