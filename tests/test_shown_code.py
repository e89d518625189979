"""The code the notebooks show learners (every `show_source(...)` target) reads like
torchvision's: no argument checks in it. Validation sits at the edges (the builders,
`train`, the data helpers, the checks) or in a decorator line above a shown function.
"""

import ast
import inspect
import json
import re
import textwrap
from pathlib import Path

import pytest

from resnet_lib import ResNet

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
CHECK_CALL = re.compile(r"^_?(check_\w*|validate\w*)$")


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _parse(source: str) -> ast.Module:
    # IPython magics and shell lines (%pip, !ls) are not Python: each becomes a `pass`.
    lines = [re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in source.splitlines()]
    return ast.parse("\n".join(lines))


def shown_targets() -> list[tuple[str, str, object]]:
    """(notebook, expression, object) for every show_source call, resolved with the notebook's own imports."""
    targets = []
    for path in NOTEBOOKS:
        trees = [_parse(source) for source in _code_cells(path)]
        namespace: dict[str, object] = {}
        imports = [
            node for tree in trees for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
        ]
        exec(compile(ast.Module(body=imports, type_ignores=[]), str(path), "exec"), namespace)
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "show_source":
                    expression = ast.unparse(node.args[0])
                    targets.append((path.name, expression, eval(expression, namespace)))
    return targets


TARGETS = shown_targets()
OURS = [
    (nb, expr, obj) for nb, expr, obj in TARGETS if getattr(obj, "__module__", "").startswith("resnet_lib")
]


def argument_checks(obj: object) -> list[str]:
    """Lines of `obj`'s body (decorators left out) that call a check or raise TypeError/ValueError."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    (definition,) = tree.body
    found = []
    for statement in definition.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
                owner = getattr(getattr(node.func, "value", None), "id", None)  # validate.check_int(...)
                if CHECK_CALL.match(name) or owner == "validate":
                    found.append(ast.unparse(node))
            elif isinstance(node, ast.Raise) and node.exc is not None:
                raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if getattr(raised, "id", None) in ("TypeError", "ValueError"):
                    found.append(ast.unparse(node))
    return found


def test_every_show_source_target_is_found_and_resolved():
    names = {expr for _, expr, _ in TARGETS}
    assert {"conv_output_size", "BasicBlock.__init__", "ResNet.__init__", "wide_resnet50_2"} <= names
    assert len(OURS) >= 20, sorted(names)


@pytest.mark.parametrize("notebook, expression, obj", OURS, ids=[f"{nb[:2]}-{expr}" for nb, expr, _ in OURS])
def test_shown_code_has_no_argument_checks(notebook, expression, obj):
    assert argument_checks(obj) == [], f"{notebook} shows {expression}, which checks its arguments"


def test_resnet_init_fits_on_a_screen():
    assert len(inspect.getsource(ResNet.__init__).splitlines()) <= 45


def test_the_check_finder_finds_checks():
    # A test that can fail: a body with a check, and one with a raise, are both caught.
    from resnet_lib.tools.validate import check_int

    def checked(stride):
        check_int("stride", stride)
        if stride > 4:
            raise ValueError("stride too large")
        return stride

    assert len(argument_checks(checked)) == 2
    assert argument_checks(check_int) != []


@pytest.mark.parametrize("notebook, expression, obj", OURS, ids=[f"{nb[:2]}-{e}" for nb, e, _ in OURS])
def test_shown_lines_fit_a_notebook_column(notebook, expression, obj):
    """Shown code wider than 88 characters breaks mid-word in JupyterLab's output area."""
    wide = [line for line in inspect.getsource(obj).splitlines() if len(line) > 88]
    assert wide == []
