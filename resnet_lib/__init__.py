"""resnet_lib: the shared library of the "ResNets from Scratch" notebook series.

The core a learner reads sits here, one concept per module, in the order the notebooks
teach it; everything it exports is below. The tools the notebooks run but never teach
(the benchmark grid, tables, figures, data sets, checkpoints, the DDP script, pretrained
weights, the source viewer) live in `resnet_lib.tools`, and the exercises' self-checks in
`resnet_lib.checks`; import those from their modules (tests/test_repository.py holds the rule).

- `arithmetic`: the output size of a convolution or pooling layer, receptive fields (01)
- `blocks`: BasicBlock, Bottleneck, pre-activation, the projection shortcut (02)
- `cifar`: the paper's CIFAR-10 networks, plain and residual (02, 03, 06)
- `models`: ResNet-18 ... 152 (04), Wide ResNet and ResNeXt (07)
- `inspection`, `flops`: parameters, layer traces, receptive fields, memory, gradients; FLOPs
- `proofs`: is our model the same function as torchvision's? (04, 06, 07)
- `schedule`, `training`: learning-rate schedules, the training loop and `evaluate` (06; 03's runs)
- `device`, `precision`: where code runs, and the one mixed-precision policy (05, 06)
"""

import logging

# torch.utils.benchmark imports torch.utils.cpp_extension, which warns "No CUDA runtime is
# found" on machines with the CUDA compiler but no GPU (such as the CI machine). The warning
# says nothing about this library's results and would end up in stored notebook outputs:
# silenced here, before any module of the package (tools.timing) loads torch.utils.benchmark.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

from resnet_lib.arithmetic import conv_output_size, pool_output_size, receptive_field, same_padding
from resnet_lib.blocks import BasicBlock, Bottleneck, PreActBasicBlock, conv3x3, projection_shortcut
from resnet_lib.cifar import PadShortcut, PlainBlock, cifar_resnet
from resnet_lib.device import pick_device, seed_everything, synchronize
from resnet_lib.flops import count_flops
from resnet_lib.inspection import (
    count_parameters,
    gradient_norms,
    measure_receptive_field,
    model_receptive_field,
    trace_layers,
)
from resnet_lib.models import (
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
from resnet_lib.proofs import compare_models
from resnet_lib.training import evaluate, train

# One line per notebook reads better here than one name per line.
# fmt: off
__all__ = [
    "conv_output_size", "pool_output_size", "receptive_field", "same_padding",  # 01
    "measure_receptive_field", "model_receptive_field", "trace_layers",
    "BasicBlock", "Bottleneck", "PreActBasicBlock", "conv3x3", "projection_shortcut",  # 02
    "PadShortcut", "PlainBlock", "cifar_resnet", "gradient_norms",  # 02, 03
    "RESNET_CONFIGS", "STAGE_WIDTHS", "ResNet", "resnet", "resnet18", "resnet34",  # 04
    "resnet50", "resnet101", "resnet152", "count_parameters", "count_flops", "compare_models",
    # seed_everything: 01-07; pick_device: 01, 04-07; synchronize: 05; train, evaluate: 06
    "pick_device", "seed_everything", "synchronize", "train", "evaluate",
    "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",  # 07
    "wide_resnet50_2", "wide_resnet101_2",
]
# fmt: on
