"""ONNXHUB_EVENT_LOOP: uvloop when installed (auto) or asked for, asyncio's loop otherwise."""

from __future__ import annotations

import asyncio

import pytest

from hub.errors import InvalidInput
from hub.server import event_loop
from hub.settings import Settings


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_auto_and_uvloop_run_on_uvloop_when_it_is_installed() -> None:
    pytest.importorskip("uvloop")
    assert event_loop.resolve("auto") == "uvloop"
    assert event_loop.run(_loop_module(), "auto").startswith("uvloop")
    assert event_loop.run(_loop_module(), "uvloop").startswith("uvloop")


def test_asyncio_keeps_the_standard_loop() -> None:
    assert event_loop.resolve("asyncio") == "asyncio"
    assert event_loop.run(_loop_module(), "asyncio").startswith("asyncio")


def test_without_uvloop_auto_falls_back_and_uvloop_names_the_extra(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(event_loop, "uvloop_installed", lambda: False)
    assert event_loop.resolve("auto") == "asyncio"
    assert event_loop.run(_loop_module(), "auto").startswith("asyncio")
    with pytest.raises(InvalidInput, match=r"onnxhub\[uvloop\]"):
        event_loop.resolve("uvloop")


def test_the_setting_takes_only_the_three_choices() -> None:
    assert Settings.from_env({}).event_loop == "auto"
    assert Settings.from_env({"ONNXHUB_EVENT_LOOP": "uvloop"}).event_loop == "uvloop"
    with pytest.raises(InvalidInput, match="ONNXHUB_EVENT_LOOP"):
        Settings.from_env({"ONNXHUB_EVENT_LOOP": "trio"})
