"""Settings: one declaration each, parsed from ONNXHUB_* variables, documented in the README."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from hub.errors import InvalidInput
from hub.export.parity import Tolerance
from hub.serving.sessions import EffectiveServingOptions
from hub.settings import (
    TABLE_END,
    TABLE_START,
    ServingOptions,
    Settings,
    env_name,
    markdown_table,
    with_table,
)

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_readme_settings_table_is_generated_from_the_declarations() -> None:
    text = README.read_text()
    assert with_table(text) == text, (
        "the README's settings table is out of date; run: python -m hub.settings --update README.md"
    )


def test_every_setting_has_a_readme_row_and_help() -> None:
    table = README.read_text().split(TABLE_START)[1].split(TABLE_END)[0].lstrip("\n")
    for f in dataclasses.fields(Settings):
        assert f.metadata["help"], f"setting {f.name} has no help text"
        assert f"| `{env_name(f.name)}` |" in table, f"{env_name(f.name)} is not in the README"
    assert table == markdown_table()


def test_defaults_come_from_the_declarations(tmp_path: Path) -> None:
    settings = Settings.from_env({"ONNXHUB_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'catalog.db'}"
    assert settings.artifacts == tmp_path / "artifacts"
    assert (settings.user, settings.max_queue, settings.max_batch_time) == ("local", 1024, 0.002)
    assert settings.providers is None and settings.model_options == {}
    # the parity tolerance has no defaults of its own
    assert Tolerance() == Tolerance(
        settings.parity_atol, settings.parity_rtol, settings.parity_max_label_mismatch
    )
    assert (Tolerance().atol, Tolerance().rtol) == (1e-4, 1e-3)


def test_values_are_parsed_to_their_declared_types(tmp_path: Path) -> None:
    env = {
        "ONNXHUB_HOME": str(tmp_path),
        "ONNXHUB_ARTIFACTS": "~/blobs",
        "ONNXHUB_PARITY_ATOL": "1e-6",
        "ONNXHUB_MAX_QUEUE": " 12 ",
        "ONNXHUB_PROVIDERS": "CUDAExecutionProvider, CPUExecutionProvider",
        "ONNXHUB_MAX_BATCH_SIZE": "",  # empty is unset
        "ONNXHUB_MODEL_OPTIONS": '{"iris": {"max_batch_size": 8, "max_batch_time": 0.01}}',
    }
    settings = Settings.from_env(env)
    assert settings.artifacts == Path("~/blobs").expanduser()
    assert settings.parity_atol == 1e-6 and settings.max_queue == 12
    assert settings.providers == ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert settings.max_batch_size == 64
    assert settings.model_options == {"iris": ServingOptions(max_batch_size=8, max_batch_time=0.01)}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ONNXHUB_MAX_QUEUE", "many", "ONNXHUB_MAX_QUEUE='many': expected `int`, got `str`"),
        ("ONNXHUB_MAX_QUEUE", "0", "ONNXHUB_MAX_QUEUE='0': expected `int` >= 1"),
        ("ONNXHUB_PARITY_ATOL", "-1", "ONNXHUB_PARITY_ATOL='-1': expected `float` >= 0.0"),
        (
            "ONNXHUB_PARITY_MAX_LABEL_MISMATCH",
            "2",
            "ONNXHUB_PARITY_MAX_LABEL_MISMATCH='2': expected `float` <= 1.0",
        ),
        (
            "ONNXHUB_MODEL_OPTIONS",
            '{"iris": {"max_batch": 8}}',
            "ONNXHUB_MODEL_OPTIONS['iris']: object contains unknown field `max_batch`",
        ),
        (
            "ONNXHUB_MODEL_OPTIONS",
            '{"iris": {"run_concurrency": "two"}}',
            "ONNXHUB_MODEL_OPTIONS['iris']: run_concurrency: expected `int | null`, got `str`",
        ),
        (
            "ONNXHUB_MODEL_OPTIONS",
            '["iris"]',
            "ONNXHUB_MODEL_OPTIONS must be a JSON object of model name -> options",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        Settings.from_env({variable: value})
    assert info.value.message == message


def test_for_home_ignores_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ONNXHUB_MAX_QUEUE", "3")
    settings = Settings.for_home(tmp_path, max_queue=7)
    assert (settings.home, settings.max_queue) == (tmp_path, 7)
    assert Settings.from_env().max_queue == 3


def test_per_model_options_are_a_subset_of_the_settings() -> None:
    """Each serving option has a setting of the same name (its lowest level)."""
    setting_names = {f.name for f in dataclasses.fields(Settings)}
    option_names = set(ServingOptions.__struct_fields__)
    assert option_names <= setting_names
    assert {f.name for f in dataclasses.fields(EffectiveServingOptions)} == option_names
    settings = Settings.for_home("/nonexistent", max_queue=5)
    effective = EffectiveServingOptions.from_settings(settings)
    assert effective.max_queue == 5
    assert effective.override(ServingOptions(max_queue=2)).max_queue == 2


@pytest.mark.parametrize(
    ("serving", "message"),
    [
        ("fast", "card front matter field 'serving': expected `object`, got `str`"),
        ({"max_queue": 0}, "card front matter field 'serving': max_queue: expected `int` >= 1"),
        (
            {"max_batch": 8},
            "card front matter field 'serving': object contains unknown field `max_batch`",
        ),
    ],
)
def test_uploaded_cards_check_serving_with_the_same_type(serving: object, message: str) -> None:
    """Cards that arrive over HTTP (uploads, contributions) pass check_front_matter."""
    from hub.export.card_fields import check_front_matter

    check_front_matter({"serving": {"max_batch_size": 8, "max_batch_time": 0.01}}, "card")
    with pytest.raises(InvalidInput) as info:
        check_front_matter({"serving": serving}, "card")
    assert info.value.message == message


def test_every_variable_the_code_names_is_a_declared_setting() -> None:
    """No ONNXHUB_* variable is read behind the declarations' back."""
    declared = {env_name(f.name) for f in dataclasses.fields(Settings)}
    named: dict[str, set[str]] = {}
    for folder in ("hub", "plugins", "contrib"):
        for path in (ROOT / folder).rglob("*.py"):
            relative = str(path.relative_to(ROOT))
            text = path.read_text()
            for variable in re.findall(r"\bONNXHUB_[A-Z0-9_]*[A-Z0-9]\b", text):
                named.setdefault(variable, set()).add(relative)
            if relative != "hub/settings.py":
                reads = re.findall(r"(?:environ\.get|getenv|environ\[)\(?\s*[\"']ONNXHUB_", text)
                assert not reads, f"{relative} reads an ONNXHUB_ variable; use Settings"
    undeclared = {v: sorted(paths) for v, paths in named.items() if v not in declared}
    assert not undeclared, f"declare these in hub.settings.Settings: {undeclared}"


def test_a_bad_setting_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from hub.cli.main import cli

    env = {"ONNXHUB_HOME": str(tmp_path), "ONNXHUB_MAX_QUEUE": "-3"}
    result = CliRunner().invoke(cli, ["models"], env=env)
    assert result.exit_code == InvalidInput.exit_code
    assert result.output == "error: ONNXHUB_MAX_QUEUE='-3': expected `int` >= 1\n"
    assert not (tmp_path / "catalog.db").exists()  # nothing was opened or written
