"""resnet_lib: the shared library of the "ResNets from Scratch" notebook series.

One module per concept, in the order the notebooks teach them:

- `arithmetic`: output sizes of convolutions and pooling layers (notebook 01)
- `blocks`: BasicBlock and Bottleneck (notebook 02)
- `models`: ResNet-18/34/50/101/152 (notebook 03)
- `inspection`: parameters, FLOPs, layer traces, memory, source viewer
- `device`, `benchmark`: where code runs, and timing it honestly (notebook 04)
- `checks`: self-checks for the exercises
"""

import logging

from .arithmetic import ReceptiveField, conv_output_size, pool_output_size, receptive_field, same_padding
from .blocks import BasicBlock, Bottleneck, conv1x1, conv3x3, projection_shortcut
from .checks import check
from .device import pick_device, seed_everything
from .inspection import (
    count_flops,
    count_parameters,
    measure_receptive_field,
    model_receptive_field,
    saved_tensor_bytes,
    show_source,
    trace_layers,
)
from .models import RESNET_CONFIGS, ResNet, resnet, resnet18, resnet34, resnet50, resnet101, resnet152

# torch.utils.benchmark imports torch.utils.cpp_extension, which warns "No CUDA runtime is
# found" on machines with the CUDA compiler but no GPU (such as the CI machine). The warning
# says nothing about this library's results and would end up in stored notebook outputs.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "RESNET_CONFIGS",
    "ReceptiveField",
    "ResNet",
    "check",
    "conv1x1",
    "conv3x3",
    "conv_output_size",
    "count_flops",
    "count_parameters",
    "measure_receptive_field",
    "model_receptive_field",
    "pick_device",
    "pool_output_size",
    "projection_shortcut",
    "receptive_field",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "same_padding",
    "saved_tensor_bytes",
    "seed_everything",
    "show_source",
    "trace_layers",
]
