"""Self-checks for the notebooks' exercises.

A check never raises: an exercise that is not answered yet, or answered with the
wrong type, gets a message, so a notebook always runs from top to bottom.

``check("04.2", answer)`` looks the exercise up by its id in `EXERCISES`, whose judge
computes the right answer itself, with the library. The page then shows neither the
answer nor the expression that computes it, and a judge can name the typical mistake
behind a wrong answer ("rounding up gives 6, but ..."). An answer can be a value or,
for a coding exercise, the learner's function, which the judge runs.

The package has one module per notebook (``nb01`` ... ``nb07``: that notebook's
judges), ``core`` (the registry, `check`, and the judges several notebooks share) and
``blocks`` with ``block_mistakes`` (`check_block`, which runs a learner's residual
block against the library's).
"""

from resnet_lib.checks.blocks import check_block
from resnet_lib.checks.core import (
    EXERCISES,
    NOT_ANSWERED,
    NOT_WRITTEN,
    NOT_WRITTEN_FUNCTION,
    Judge,
    check,
    check_exercise,
)

from . import nb01, nb02, nb03, nb04, nb05, nb06, nb07

for _notebook in (nb01, nb02, nb03, nb04, nb05, nb06, nb07):
    _notebook.register()

__all__ = [
    "EXERCISES",
    "NOT_ANSWERED",
    "NOT_WRITTEN",
    "NOT_WRITTEN_FUNCTION",
    "Judge",
    "check",
    "check_block",
    "check_exercise",
]
