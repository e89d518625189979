"""resnet_lib: the shared library of the "ResNets from Scratch" notebook series.

The rule of the public API: what the notebooks use is exported here, and the notebooks
import it from here (the model builders resnet18 ... resnet152 too); everything else is
read, or imported, from its module (tests/test_repository.py holds both sides).

One module per concept, in the order the notebooks teach them:

- `arithmetic`, `figures`: output sizes and receptive fields; the drawings of notebook 01
- `blocks`, `cifar`: BasicBlock, Bottleneck, pre-activation; the paper's CIFAR-10 nets (02)
- `degradation`: the plain-vs-residual experiment and its stored results (02)
- `models`: ResNet-18 ... 152 (03), Wide ResNet, ResNeXt, ResNet-C/D (06)
- `inspection`, `flops`, `source`: parameters, layer traces, memory; FLOPs; the source viewer
- `tables`: the tables of notebook 03 (a package: the renderer, layouts, costs)
- `device`, `precision`, `step`, `timing`: where code runs, mixed precision, one training
  step, timing it honestly (04)
- `benchmark`: the throughput grid of ResNet-18 ... 152 (a package: grid, runner, results,
  plot, command line; notebook 04)
- `shapes`, `data`, `sampler`, `schedule`, `training`, `checkpoint`: data sets, a resumable
  sampler, learning-rate schedules, the training loop and its checkpoints (02, 05);
  `train_cifar` is the script for a full (also multi-GPU) CIFAR-10 run
- `proofs`: is our model the same function as the reference? (03, 05, 06)
- `pretrained`: torchvision's ImageNet weights in our models, transfer learning (05)
- `checks`: the exercises' self-checks (a package, one module per notebook)
"""

import logging

# torch.utils.benchmark imports torch.utils.cpp_extension, which warns "No CUDA runtime is
# found" on machines with the CUDA compiler but no GPU (such as the CI machine). The warning
# says nothing about this library's results and would end up in stored notebook outputs:
# silenced before the imports below load torch.utils.benchmark.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

from .arithmetic import conv_output_size, pool_output_size, receptive_field, same_padding
from .benchmark import (
    CPU_GRID,
    GPU_GRID,
    MODES,
    PEAK_TFLOPS,
    QUICK_GPU_GRID,
    default_grid,
    format_rows,
    load_results,
    memory_kind,
    parity,
    peak_tflops,
    plot_results,
    run_grid,
)
from .blocks import BasicBlock, Bottleneck, PreActBasicBlock, conv3x3, projection_shortcut
from .checks import check, check_block
from .cifar import PadShortcut, PlainBlock, cifar_resnet
from .data import image_data, make_loaders
from .degradation import ARMS, final_values, load_degradation
from .device import MEASURED_DIR, pick_device, seed_everything, synchronize
from .figures import cell_roles, conv_windows, draw_conv_1d, draw_conv_2d, draw_pool_1d, pool_windows
from .flops import count_flops, count_step_flops
from .inspection import (
    count_parameters,
    gradient_norms,
    measure_receptive_field,
    model_receptive_field,
    saved_tensor_bytes,
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
    TRANSFER_MODES,
    for_transfer,
    get_weights,
    load_torchvision_state_dict,
    offline_proof,
    pretrained_resnet,
    top_k,
)
from .proofs import compare_models
from .shapes import SHAPE_CLASSES, make_shapes
from .source import show_source
from .tables import activation_bytes, architecture, comparison_table, model_stats, table1
from .timing import SPEED_SETTINGS, compare_training_step, profile_step
from .training import AugmentedDataset, evaluate, load_checkpoint, train

__all__ = [
    # notebook 01: arithmetic, receptive fields, the drawings
    "conv_output_size",
    "pool_output_size",
    "receptive_field",
    "same_padding",
    "measure_receptive_field",
    "model_receptive_field",
    "trace_layers",
    "cell_roles",
    "conv_windows",
    "draw_conv_1d",
    "draw_conv_2d",
    "draw_pool_1d",
    "pool_windows",
    # notebook 02: blocks, the CIFAR nets, the degradation experiment, training
    "BasicBlock",
    "Bottleneck",
    "PreActBasicBlock",
    "conv3x3",
    "projection_shortcut",
    "PadShortcut",
    "PlainBlock",
    "cifar_resnet",
    "ARMS",
    "final_values",
    "load_degradation",
    "gradient_norms",
    "SHAPE_CLASSES",
    "make_shapes",
    "image_data",
    "make_loaders",
    "train",
    # notebook 03: the models, their tables, proofs
    "RESNET_CONFIGS",
    "STAGE_WIDTHS",
    "ResNet",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "compare_models",
    "count_parameters",
    "count_flops",
    "activation_bytes",
    "architecture",
    "comparison_table",
    "model_stats",
    "table1",
    # notebook 04: devices, timing, the benchmark grid
    "MEASURED_DIR",
    "synchronize",
    "saved_tensor_bytes",
    "SPEED_SETTINGS",
    "compare_training_step",
    "profile_step",
    "count_step_flops",
    "CPU_GRID",
    "GPU_GRID",
    "QUICK_GPU_GRID",
    "MODES",
    "PEAK_TFLOPS",
    "default_grid",
    "format_rows",
    "load_results",
    "memory_kind",
    "parity",
    "peak_tflops",
    "plot_results",
    "run_grid",
    # notebook 05: training, checkpoints, pretrained weights, transfer
    "AugmentedDataset",
    "evaluate",
    "load_checkpoint",
    "TRANSFER_MODES",
    "for_transfer",
    "get_weights",
    "load_torchvision_state_dict",
    "offline_proof",
    "pretrained_resnet",
    "top_k",
    # notebook 06: the family
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet50_2",
    "wide_resnet101_2",
    # every notebook
    "check",
    "check_block",
    "pick_device",
    "seed_everything",
    "show_source",
]
