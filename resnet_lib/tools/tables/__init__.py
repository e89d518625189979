"""Tables of the five ResNets, built from the library's own models (notebook 04).

Nothing here is typed in from the paper: the blocks per stage and the widths come
from `RESNET_CONFIGS` and `STAGE_WIDTHS`, the kernel sizes from the modules of a
built model, the output sizes from a traced forward pass (`trace_layers`), and the
multiply-adds from `count_flops`. So the tables can only disagree with the paper
(He et al. 2015, arXiv:1512.03385, Table 1) if the models do.

- `layout`: `architecture` / `Architecture`, one depth's layout as plain data, and
  `table1`, the paper's Table 1 for several depths.
- `costs`: `model_stats` / `ModelStats`, `comparison_table`: parameters, multiply-adds,
  weight and activation memory, receptive field, one row per depth;
  `activation_bytes`: the activations a training forward pass keeps.
- `table`: `Table`, a small table that shows itself as HTML in Jupyter and as aligned
  text elsewhere; both renderings are deterministic (the notebooks' tests
  compare them with stored outputs).
"""

from resnet_lib.tools.tables.costs import ModelStats, activation_bytes, comparison_table, model_stats
from resnet_lib.tools.tables.layout import Architecture, Stage, architecture, table1
from resnet_lib.tools.tables.table import Table

__all__ = [
    "Architecture",
    "ModelStats",
    "Stage",
    "Table",
    "activation_bytes",
    "architecture",
    "comparison_table",
    "model_stats",
    "table1",
]
