"""Issue 9 item 17: catalog commands import only what they use (checked by what is imported,
never by timing; bench/cli_startup.sh measures the time)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click

from hub.cli.main import LAZY_COMMANDS, cli

HEAVY = ("onnx", "onnxruntime", "numpy", "alembic", "torch", "tensorflow", "sklearn", "aiohttp")


def _imported_after(code: str, home: Path) -> list[str]:
    probe = (
        "import json, sys\n"
        f"{code}\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"ONNXHUB_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_command_line_imports_nothing_heavy(tmp_path: Path) -> None:
    assert _imported_after("import hub.cli.main", tmp_path) == []


def test_models_on_a_catalog_imports_no_onnx_numpy_or_alembic(tmp_path: Path) -> None:
    from hub.api import Hub
    from hub.settings import Settings

    Hub(Settings.for_home(tmp_path)).close()  # creating the schema is alembic's job
    run = (
        "from click.testing import CliRunner\n"
        "from hub.cli.main import cli\n"
        "result = CliRunner().invoke(cli, ['models'])\n"
        "assert result.exit_code == 0 and result.output == 'no models\\n', result.output\n"
    )
    assert _imported_after(run, tmp_path) == []


def test_every_command_module_is_registered() -> None:
    """A command written in hub/cli but missing from LAZY_COMMANDS would never be reachable."""
    registered = {name: cli.get_command(click.Context(cli), name) for name in LAZY_COMMANDS}
    assert all(registered.values())
    reachable = {id(c) for c in registered.values()}
    for path in (Path(__file__).resolve().parents[2] / "hub" / "cli").glob("*.py"):
        module = importlib.import_module(f"hub.cli.{path.stem}")
        commands = [v for v in vars(module).values() if isinstance(v, click.Command)]
        nested = {
            id(sub)
            for group in commands
            if isinstance(group, click.Group)
            for sub in group.commands.values()
        }
        for command in commands:
            if id(command) not in nested and command is not cli:
                assert id(command) in reachable or command.name == "new", (path.name, command.name)


def test_head_read_without_alembic_is_alembics_head() -> None:
    """Opening an up-to-date catalog reads the shipped head from the scripts' revision lines
    (no alembic import); it must be the head alembic computes."""
    from hub.catalog import migrate

    assert migrate._shipped_head() == migrate.head_revision()
