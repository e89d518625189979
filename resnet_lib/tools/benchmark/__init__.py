"""The benchmark grid of notebook 05: how fast ResNets really run.

`run_grid` times inference and a full training step of ResNet-18 ... 152, resnet_lib
beside torchvision (the same weights), in fp32, channels_last, mixed precision and
compiled, with the honest timing of `resnet_lib.tools.timing`, and turns the times into
images/s, achieved TFLOP/s and the fraction of the GPU's datasheet peak. The results
go to a JSON file (with the device, versions and date) that the notebook plots.

Everything is timed with the settings a training run uses for speed
(`resnet_lib.tools.timing.speed_settings`: cuDNN's autotuner on, non-deterministic kernels
allowed), whatever `seed_everything()` set before.

One module per part, in the order a run goes through them:

- `grid`: the cells (`BenchConfig`), the modes and the grid of each device
- `peaks`: the GPUs' datasheet peaks
- `runner`: timing the cells (`StepRunner`, `run_grid`), retrying with half the batch
  when a GPU runs out of memory
- `results`: the JSON results file, the text table (`format_rows`), the parity ratios
- `plot`: the figure of notebook 05
- `parity`: the README's benchmark, our ResNet against torchvision's (`parity_benchmark`)
- `targets`: the targets of notebook 05 §3.3
- `data_bench`: notebook 06 §2's data-pipeline benchmark (``tasks.py bench --data``)
- `cli`: the command line (``python -m resnet_lib.tools.benchmark`` is the same):

    python3 tasks.py bench --depth 50 --batch-size 8     # the README's parity benchmark
    python3 tasks.py bench --grid --out resnet_lib/measured/gpu_benchmark.json
"""

from resnet_lib.tools.benchmark.cli import main
from resnet_lib.tools.benchmark.grid import (
    CPU_GRID,
    DEPTHS,
    GPU_GRID,
    IMPLEMENTATIONS,
    MODES,
    MPS_GRID,
    PRECISIONS,
    QUICK_GPU_GRID,
    BenchConfig,
    default_grid,
    grid_configs,
)
from resnet_lib.tools.benchmark.peaks import PEAK_TFLOPS, peak_tflops
from resnet_lib.tools.benchmark.plot import plot_results
from resnet_lib.tools.benchmark.results import (
    MEMORY_COLUMNS,
    check_appendable,
    format_rows,
    load_results,
    parity,
    save_results,
)
from resnet_lib.tools.benchmark.runner import StepRunner, memory_kind, run_grid

__all__ = [
    "BenchConfig",
    "CPU_GRID",
    "DEPTHS",
    "GPU_GRID",
    "IMPLEMENTATIONS",
    "MEMORY_COLUMNS",
    "MODES",
    "MPS_GRID",
    "PEAK_TFLOPS",
    "PRECISIONS",
    "QUICK_GPU_GRID",
    "StepRunner",
    "check_appendable",
    "default_grid",
    "format_rows",
    "grid_configs",
    "load_results",
    "main",
    "memory_kind",
    "parity",
    "peak_tflops",
    "plot_results",
    "run_grid",
    "save_results",
]
