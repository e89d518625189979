"""The repository keeps its promises: README commands, pins, notebook conventions."""

import json
import re
import shutil
from pathlib import Path

import pytest

from retarget import read_target, retarget

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STUDENT_COPIES = sorted((ROOT / "notebooks" / "student").glob("[0-9][0-9]_*.ipynb"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    ci_commands = [
        line
        for line in (ROOT / ".ci/run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci_commands == ["python3 tasks.py test --all"]
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^python3 tasks\.py \w+.*$", quickstart, re.M) == [
        "python3 tasks.py lab",
        "python3 tasks.py test",
        "python3 tasks.py test --all",
    ]


def test_requirements_are_pinned_and_the_package_is_not():
    lines = [
        ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln and not ln.startswith("#")
    ]
    assert lines and all(re.fullmatch(r"[\w.-]+==[\w.]+", ln) for ln in lines), lines
    assert "torch==2.14.1" in lines and "torchvision==0.29.1" in lines
    pyproject = (ROOT / "pyproject.toml").read_text()
    dependencies = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "==" not in dependencies  # Colab must keep its own torch


def test_there_are_notebooks():
    assert NOTEBOOKS


def colab_lines_point_at(path: Path, github: str, branch: str, root: Path = ROOT) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    first_md = "".join(nb["cells"][0]["source"])
    badge = (
        f"https://colab.research.google.com/github/{github}/blob/{branch}/{path.relative_to(root).as_posix()}"
    )
    assert badge in first_md, "Colab badge missing or pointing elsewhere"
    colab_cell = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
    assert '"google.colab" in sys.modules' in colab_cell
    assert f'%pip install -q torchinfo "git+https://github.com/{github}@{branch}"' in colab_cell


@pytest.mark.parametrize("path", NOTEBOOKS + STUDENT_COPIES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_conventions(path):
    colab_lines_point_at(path, *read_target())
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0]["outputs"] == [], "the Colab setup cell must print nothing outside Colab"
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), "not executed in order"
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, "stored error output"
    if path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in README, "notebook missing from the README's list"


def test_readme_examples_run():
    import doctest

    failures, tried = doctest.testfile(str(ROOT / "README.md"), module_relative=False)
    assert tried and not failures


def test_retarget_rewrites_every_badge_and_install_line(tmp_path):
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(
        ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    old_github, _ = read_target()
    changed = retarget("a-fork/resnets", "teaching", root=tmp_path)
    assert read_target(tmp_path) == ("a-fork/resnets", "teaching")
    notebooks = sorted((tmp_path / "notebooks").rglob("[0-9][0-9]_*.ipynb"))
    assert set(notebooks) <= set(changed)
    for path in notebooks:
        colab_lines_point_at(path, "a-fork/resnets", "teaching", root=tmp_path)
    for path in [tmp_path / "README.md", *notebooks]:
        assert old_github not in path.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="github must look like OWNER/NAME, got 'nope'"):
        retarget("nope", "main", root=tmp_path)


def test_readme_badges_and_run_times_agree_with_the_measurements():
    github, branch = read_target()
    seconds = json.loads((ROOT / "notebooks" / "run_times.json").read_text())["seconds"]
    workshop = (ROOT / "WORKSHOP.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        row = next(line for line in README.splitlines() if f"(notebooks/{path.name})" in line)
        assert f"https://colab.research.google.com/github/{github}/blob/{branch}/notebooks/{path.name}" in row
        assert f"| {seconds[path.name]} s |" in row, f"README: CPU run time of {path.name}"
        assert f"| {path.name} | {seconds[path.name]} s |" in workshop, (
            f"WORKSHOP.md: run time of {path.name}"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_headers_state_the_measured_run_time(path):
    # "every number on the page is checked": the run time a notebook promises in its first
    # cell holds for the time measured by `python3 tasks.py execute --record-times`.
    seconds = json.loads((ROOT / "notebooks" / "run_times.json").read_text())["seconds"][path.name]
    header = " ".join("".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"]).split())
    assert "takes under a minute on a 2-core CPU" in header
    assert seconds < 60


def test_gpu_measurements_ship_with_the_package():
    # Colab installs the library with pip and has no other folder of the repository: the
    # notebooks find GPU measurements only if the wheel carries them.
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    from resnet_lib.device import MEASURED_DIR

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "measured/*.json" in data["resnet_lib"]
    assert MEASURED_DIR == ROOT / "resnet_lib" / "measured" and (MEASURED_DIR / "README.md").exists()


def test_the_wheel_holds_every_module_and_measurement(tmp_path):
    """Colab installs a wheel, not the working tree: every module, subpackage and data file must be in it."""
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            tmp_path,
            ROOT,
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("resnet_lib-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "resnet_lib"
    wanted = {p.relative_to(ROOT).as_posix() for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    wanted |= {p.relative_to(ROOT).as_posix() for p in (package / "measured").glob("*.json")}
    assert wanted - packed == set()


def _notebook_imports() -> dict[str, set[str]]:
    """Module -> the names the notebooks import from it (``from resnet_lib... import ...``)."""
    import nbformat

    imports: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for module, imported in re.findall(
                r"^from (resnet_lib[\w.]*) import (\([^)]*\)|[^\n]*)", cell.source, re.M
            ):
                names = {n for n in re.split(r"[\s,()]+", imported) if n and not n.startswith("#")}
                imports.setdefault(module, set()).update(names)
    return imports


def test_the_public_api_is_the_core_and_tools_come_from_their_modules():
    """resnet_lib/__init__.py's rule: it exports the core (at most 40 names, all defined in core
    modules); a notebook imports a core name from resnet_lib and a tool from its own module."""
    import importlib

    import resnet_lib

    exported = set(resnet_lib.__all__)
    assert len(resnet_lib.__all__) == len(exported) <= 40
    constants = {"RESNET_CONFIGS": "resnet_lib.models", "STAGE_WIDTHS": "resnet_lib.models"}
    for name in exported:
        home = constants.get(name) or getattr(resnet_lib, name).__module__
        assert home.count(".") == 1 and not home.startswith(("resnet_lib.tools", "resnet_lib.checks")), (
            f"{name} is exported but lives in {home}, not in a core module"
        )
    imports = _notebook_imports()
    assert imports.pop("resnet_lib") <= exported, (
        "a notebook imports from resnet_lib a name it does not export"
    )
    for module, names in imports.items():
        mod = importlib.import_module(module)
        assert all(hasattr(mod, n) for n in names), f"{module} lacks one of {sorted(names)}"
        assert not names & exported, f"{module}: import {sorted(names & exported)} from resnet_lib itself"


def test_the_tools_and_checks_are_subpackages_beside_the_core():
    """`ls resnet_lib` shows the design: core modules, then tools/ and checks/; the core is small."""
    lib = ROOT / "resnet_lib"
    assert {p.name for p in lib.iterdir() if p.is_dir() and p.name != "__pycache__"} == {
        "tools",
        "checks",
        "measured",
    }
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in lib.glob("*.py")}
    assert max(sizes.values()) <= 250, f"a core module over 250 lines: {sizes}"
    assert sum(sizes.values()) <= 1500, f"the core is {sum(sizes.values())} lines, more than 1,500"


def test_readme_quotes_every_compatibility_run_and_each_passed():
    """README's "Tested with" line names each (Python, torch) of compat/results.json, and each run passed."""
    import json

    entries = json.loads((ROOT / "compat" / "results.json").read_text(encoding="utf-8"))
    tested = " ".join(README.split("Tested with", 1)[1].split("\n\n", 1)[0].split())
    for entry in entries:
        assert all(n["passed"] for n in entry["notebooks"].values()), entry["torch"]
        assert entry["unit_tests"]["failed"] == entry["unit_tests"]["errors"] == 0, entry["torch"]
        python = ".".join(entry["python"].split(".")[:2])
        assert f"Python {python}" in tested and f"torch {entry['torch'].split('+')[0]}" in tested


def _library_imports() -> dict[str, set[str]]:
    """Module -> the resnet_lib modules it imports (at the top or inside a function)."""
    import ast

    graph: dict[str, set[str]] = {}
    for path in (ROOT / "resnet_lib").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        targets = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            targets |= {n for n in names if n.split(".")[0] == "resnet_lib"}
    return {m: {t for t in ts if t in graph and t != m} for m, ts in graph.items()}


def test_the_library_has_no_import_cycle_and_no_relative_imports():
    """An import cycle only exists to keep an old path alive; absolute imports say where code lives."""
    graph = _library_imports()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            cycle = path[path.index(module) :] + (module,)
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(graph[module]):
            # A package's __init__ importing its own modules is how a package is built.
            if not target.startswith(module + "."):
                visit(target, path + (module,))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
    relative = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "resnet_lib").rglob("*.py")
        if re.search(r"^\s*from \.+\w", p.read_text(encoding="utf-8"), re.M)
    ]
    assert relative == []


def test_no_private_name_is_imported_across_modules():
    """A private name (a leading underscore) belongs to its module; another module imports a public one."""
    offenders = []
    for path in [*(ROOT / "resnet_lib").rglob("*.py"), *(ROOT / "tests").glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for module, names in re.findall(r"^\s*from (resnet_lib[\w.]*) import \(?([^)\n]*)", text, re.M):
            private = [n for n in re.split(r"[\s,]+", names) if n.startswith("_") and not n.startswith("__")]
            offenders += [f"{path.name}: {module}.{n}" for n in private]
    assert offenders == []


def test_no_test_monkeypatches_a_private_name():
    """Tests that patch a module's private names break at every clean-up: patch a public seam."""
    patched = [
        f"{path.name}: {name}"
        for path in (ROOT / "tests").glob("test_*.py")
        for name in re.findall(
            r"monkeypatch\.setattr\(\s*[\w.]+,\s*\"(_\w+)\"", path.read_text(encoding="utf-8")
        )
        + re.findall(
            r"monkeypatch\.setattr\(\s*\"resnet_lib[\w.]*\.(_\w+)\"", path.read_text(encoding="utf-8")
        )
    ]
    assert patched == []
