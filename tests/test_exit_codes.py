"""Issue 9 item 20: one documented table of exit codes, checked against the error classes."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import hub.errors as errors
from hub.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]


def _table() -> dict[int, tuple[set[str], set[int]]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- exit codes:", 1)[1].split("<!-- end of exit codes -->", 1)[0]
    rows = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            names = set(re.findall(r"`(\w+)`", cells[2]))
            statuses = {int(s) for s in re.findall(r"\d{3}", cells[3])}
            rows[int(cells[0])] = (names, statuses)
    return rows


def _error_classes() -> list[type[errors.HubError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.HubError) and cls.__module__ == errors.__name__
    ]


def test_every_error_class_is_in_the_table_under_its_exit_code_and_status() -> None:
    table = _table()
    assert {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 130} == set(table)
    documented = {name: code for code, (names, _) in table.items() for name in names}
    classes = _error_classes()
    assert documented == {cls.__name__: cls.exit_code for cls in classes}
    for cls in classes:
        assert cls.status in table[cls.exit_code][1], cls.__name__


def test_cli_uses_no_exit_code_outside_the_table() -> None:
    codes = set(_table())
    for path in (ROOT / "hub" / "cli").glob("*.py"):
        for literal in re.findall(r"(?:sys\.exit|SystemExit)\((\d+)\)", path.read_text()):
            assert int(literal) in codes, f"{path.name} exits {literal}"


def test_plugins_new_into_an_existing_folder_exits_4(tmp_path: Path) -> None:
    """The issue's example: exit 4 was missing from the README."""
    (tmp_path / "onnxhub-catboost").mkdir()
    result = CliRunner().invoke(cli, ["plugins", "new", "catboost", "--dest", str(tmp_path)])
    assert result.exit_code == errors.Conflict.exit_code == 4
    assert result.output.startswith("error: ") and result.output.count("\n") == 1


@pytest.mark.parametrize(("args", "code"), [(["show", "nothing-here"], 3), (["show", "a:b"], 2)])
def test_exit_codes_of_catalog_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int
) -> None:
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code and result.output.startswith("error: ")
