"""The repository keeps its promises: README commands, pins, notebook conventions."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


def published_at() -> tuple[str, str]:
    """(owner/name, branch) from [tool.resnets-from-scratch] in pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[tool.resnets-from-scratch]", 1)[1]
    github = re.search(r'^github = "([^"]+)"', section, re.M).group(1)
    branch = re.search(r'^branch = "([^"]+)"', section, re.M).group(1)
    return github, branch


def test_ci_runs_the_readme_test_command():
    ci_commands = [
        line for line in (ROOT / ".ci/run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci_commands == ["python3 tasks.py test"]
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^python3 tasks\.py \w+$", quickstart, re.M) == ["python3 tasks.py lab", "python3 tasks.py test"]


def test_requirements_are_pinned_and_the_package_is_not():
    lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines and all(re.fullmatch(r"[\w.-]+==[\w.]+", ln) for ln in lines), lines
    assert "torch==2.14.1" in lines and "torchvision==0.29.1" in lines
    pyproject = (ROOT / "pyproject.toml").read_text()
    dependencies = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "==" not in dependencies  # Colab must keep its own torch


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    github, branch = published_at()
    first_md = "".join(nb["cells"][0]["source"])
    badge = f"https://colab.research.google.com/github/{github}/blob/{branch}/notebooks/{path.name}"
    assert badge in first_md, "Colab badge missing or pointing elsewhere"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    colab_cell = "".join(code[0]["source"])
    assert 'if "google.colab" in sys.modules:' in colab_cell
    assert f'"git+https://github.com/{github}@{branch}"' in colab_cell
    assert code[0]["outputs"] == [], "the Colab setup cell must print nothing outside Colab"
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), "not executed in order"
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, "stored error output"
    assert f"notebooks/{path.name}" in README, "notebook missing from the README's list"


def test_readme_examples_run():
    import doctest

    failures, tried = doctest.testfile(str(ROOT / "README.md"), module_relative=False)
    assert tried and not failures
