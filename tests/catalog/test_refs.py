"""Issue 9 item 9: one reference parser for every entry point (refs, CLI, Hub API, server)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from onnx_graphs import scale_model

from hub.api import Hub
from hub.catalog.refs import MAX_VERSION, parse_ref, split_ref
from hub.cli.main import cli
from hub.errors import InvalidInput, NotFound
from hub.serving.runtime import normalize_ref
from hub.settings import Settings

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [(None, None), ("7", 7), (7, 7), ("007", 7), (str(MAX_VERSION), MAX_VERSION), ("prod", "prod")],
)
def test_numbers_and_aliases(ref, expected) -> None:  # type: ignore[no-untyped-def]
    assert parse_ref(ref) == expected


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (HUGE, "version number 99999999999999999999 is out of range"),
        (str(MAX_VERSION + 1), "out of range (versions are 1 to 2147483647)"),
        ("9" * 10_000, "is out of range"),  # never int() of a huge string
        ("0", "version number 0 is out of range"),
        (0, "version number 0 is out of range"),
        (-1, "version number -1 is out of range"),
        ("-1", "invalid version reference '-1'"),
        ("1.5", "invalid version reference '1.5'"),
        ("\u0663", "invalid version reference"),  # ARABIC-INDIC DIGIT THREE: not ASCII
        ("\u00b2", "invalid version reference"),  # SUPERSCRIPT TWO: str.isdigit() says yes
        ("", "invalid version reference ''"),
        (" 1", "invalid version reference ' 1'"),
        ("prod\n", "invalid version reference"),
        (True, "not True"),
        (1.0, "not 1.0"),
    ],
)
def test_everything_else_is_invalid_input(ref, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=None) as caught:
        parse_ref(ref)
    assert message in caught.value.message and "\n" not in caught.value.message


def test_split_ref() -> None:
    assert split_ref("iris") == ("iris", None)
    assert split_ref("iris:3") == ("iris", 3)
    assert split_ref("iris@production") == ("iris", "production")
    for bad in (f"iris:{HUGE}", "iris:\u0663", "iris@3", "iris@", "iris:", "iri s"):
        with pytest.raises(InvalidInput):
            split_ref(bad)


def test_model_names_allow_no_trailing_newline() -> None:
    # the old rules matched with `$`, which accepts a final newline
    with pytest.raises(InvalidInput, match="invalid model name"):
        split_ref("iris\n")


@pytest.fixture
def catalog(tmp_path: Path) -> Hub:
    hub = Hub(Settings.for_home(tmp_path / "home"))
    hub.publish(
        scale_model(2.0), name="iris", sample=np.ones((2, 3), np.float32), alias="production"
    )
    yield hub
    hub.close()


def test_hub_api(catalog: Hub) -> None:
    assert catalog.get_version("iris", "1").version == 1
    for bad in (HUGE, int(HUGE), "1.5"):
        with pytest.raises(InvalidInput):
            catalog.get_version("iris", bad)
    with pytest.raises(NotFound, match="has no version 2"):
        catalog.get_version("iris", 2)
    with pytest.raises(InvalidInput, match="out of range"):
        catalog.set_alias("iris", "staging", HUGE)


def test_cli_show_prints_one_line(catalog: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's example: ``onnxhub show iris:99999999999999999999`` printed a traceback."""
    monkeypatch.setenv("ONNXHUB_HOME", str(catalog.settings.home))
    runner = CliRunner()
    result = runner.invoke(cli, ["show", f"iris:{HUGE}"])
    assert result.exit_code == 2
    assert result.output == (
        f"error: version number {HUGE} is out of range (versions are 1 to 2147483647)\n"
    )
    result = runner.invoke(cli, ["alias", "iris", "staging", HUGE])
    assert result.exit_code == 2 and result.output.count("\n") == 1


def test_server_references(catalog: Hub) -> None:
    assert normalize_ref("") is None and normalize_ref("1") == 1
    with pytest.raises(InvalidInput, match="out of range"):
        normalize_ref(HUGE)
    with pytest.raises(InvalidInput):
        normalize_ref("\u0663")


async def test_v2_infer_with_huge_version_is_400(catalog: Hub, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    from hub.server.app import create_app

    client = await aiohttp_client(create_app(catalog, catalog.settings))
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}
    response = await client.post(f"/v2/models/iris/versions/{HUGE}/infer", json=body)
    assert response.status == 400
    assert "out of range" in (await response.json())["error"]
    response = await client.post("/v2/models/iris/versions/5/infer", json=body)
    assert response.status == 404
    response = await client.get(f"/v2/models/iris/versions/{HUGE}")
    assert response.status == 400
    response = await client.post("/v2/models/iris/versions/1/infer", json=body)
    assert response.status == 200 and (await response.json())["outputs"][0]["data"] == [2, 4, 6]
