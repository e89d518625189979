"""tasks.py, the one entry point a new user runs: commands, usage, running as root."""

import pytest

import tasks


def test_lab_as_root_passes_allow_root_and_says_so(capsys):
    cmd = tasks.command_line("lab", [], as_root=True)
    assert cmd[-1] == "--allow-root" and cmd.count("--allow-root") == 1
    assert "Running as root" in capsys.readouterr().out
    # Given by the user already: not twice.
    assert tasks.command_line("lab", ["--allow-root"], as_root=True).count("--allow-root") == 1


def test_lab_not_as_root_and_other_commands_get_no_flag(capsys):
    assert "--allow-root" not in tasks.command_line("lab", [], as_root=False)
    assert "--allow-root" not in tasks.command_line("test", ["-k", "x"], as_root=True)
    assert tasks.command_line("test", ["-k", "x"], as_root=False)[-2:] == ["-k", "x"]
    assert capsys.readouterr().out == ""


def test_unknown_command_is_named_and_exits_non_zero(capsys):
    with pytest.raises(SystemExit) as exit_:
        tasks.main(["frobnicate"])
    assert exit_.value.code != 0
    assert "unknown command 'frobnicate'" in str(exit_.value.code)
    assert "lab, test, execute, bench" in str(exit_.value.code)
    assert "python3 tasks.py lab" in capsys.readouterr().err  # the usage too


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_usage_and_exits_zero(flag, capsys):
    tasks.main([flag])  # returns: exit status 0
    out = capsys.readouterr().out
    assert "python3 tasks.py lab" in out and "python3 tasks.py bench" in out


def test_every_command_is_in_the_usage():
    for name in tasks.COMMANDS:
        assert f"python3 tasks.py {name}" in tasks.__doc__


def test_test_skips_the_slow_tests_unless_all():
    quick = [str(c) for c in tasks.command_line("test", ["-k", "x"], as_root=False)]
    assert quick[-4:] == ["-m", "not slow", "-k", "x"]
    full = [str(c) for c in tasks.command_line("test", ["--all", "-k", "x"], as_root=False)]
    assert "--all" not in full and "not slow" not in full and full[-2:] == ["-k", "x"]


def test_student_copies_are_marked_slow(pytestconfig):
    # The quick suite must still run the notebooks themselves; only their student copies are slow.
    import conftest

    class Item:
        def __init__(self, path, nodeid=""):
            self.fspath, self.nodeid, self.markers = path, nodeid, []

        def add_marker(self, marker):
            self.markers.append(marker.name)

    student, notebook = Item("notebooks/student/01_x.ipynb"), Item("notebooks/01_x.ipynb")
    listed = Item("tests/test_x.py", nodeid=conftest.SLOW_TESTS[0])
    conftest.pytest_collection_modifyitems([student, notebook, listed])
    assert student.markers == ["slow"] and notebook.markers == [] and listed.markers == ["slow"]


def test_every_listed_slow_test_exists():
    # A renamed test would silently leave the list (and run in the quick suite): keep them in step.
    import re
    from pathlib import Path

    import conftest

    for nodeid in conftest.SLOW_TESTS:
        path, name = nodeid.split("::")
        function = re.sub(r"\[.*\]$", "", name)
        assert f"def {function}(" in (Path(conftest.__file__).parent / path).read_text(), nodeid
