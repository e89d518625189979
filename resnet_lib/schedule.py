"""Learning-rate schedules: how fast SGD steps at each point of a run.

He et al. 2015 (Sec. 3.4 and 4.2) start at 0.1 and divide by 10 twice when the error
plateaus (32k and 48k of 64k iterations on CIFAR-10); a cosine, from the rate down to 0,
is the common modern choice. Both can start with a linear warm-up (`warmup_steps`); the paper's
ResNet-110 holds 0.01 until its training error is below 80 %, then 0.1 (`degradation.run_arm`).
"""

from __future__ import annotations

import math

__all__ = ["SCHEDULES", "lr_at"]

SCHEDULES = ("cosine", "step", "constant")


def lr_at(step: int, total_steps: int, lr: float, schedule: str = "cosine", warmup_steps: int = 0) -> float:
    """The learning rate at `step` (0-based) of a run of `total_steps` steps.

    - ``"cosine"``: from `lr` down to 0 along half a cosine.
    - ``"step"``: `lr`, divided by 10 after 50 % and again after 75 % of the steps
      (the paper's CIFAR schedule: 32k and 48k of 64k iterations).
    - ``"constant"``: `lr` throughout.

    During the first `warmup_steps` steps the rate rises linearly to the schedule's.
    (`train` checks the arguments once; this runs at every step.)
    """
    if schedule == "cosine":
        rate = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
    elif schedule == "step":
        rate = lr * 0.1 ** ((step >= total_steps // 2) + (step >= total_steps * 3 // 4))
    elif schedule == "constant":
        rate = lr
    else:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if step < warmup_steps:
        rate *= (step + 1) / warmup_steps
    return rate
