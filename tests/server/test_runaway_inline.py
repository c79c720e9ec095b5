"""A model planned to run inline whose request makes a run long: the loop is freed, the run
is re-done on the model's thread under its own deadline, and after three such stops the model
stops running inline."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
from hostile import GuardedTestServer, loop_model, loop_request

from hub.api import Hub
from hub.server.app import create_app
from hub.server.keys import RUNTIME


async def test_a_long_inline_run_is_stopped_and_the_model_demoted(
    aiohttp_client, serve_settings
) -> None:
    settings = replace(serve_settings, run_timeout=0.5, inline_runs="auto")
    with Hub(settings) as hub:
        hub.publish(loop_model(), name="loop", sample=np.array([3], dtype=np.int64))
        app = create_app(hub)
        client = await aiohttp_client(GuardedTestServer(app))
        ok = await client.post("/v2/models/loop/infer", json=loop_request(4))
        assert ok.status == 200 and (await ok.json())["outputs"][0]["data"] == [4.0]
        (resident,) = app[RUNTIME].residency.residents()
        assert resident.model.inline is not None  # 0 trips at warm-up: cheaper than a hand-off
        assert resident.model.inline_runs == 1
        started = time.monotonic()
        for stops in (1, 2, 3):
            runaway = await client.post("/v2/models/loop/infer", json=loop_request(10**12))
            assert runaway.status == 504 and "run_timeout" in (await runaway.json())["error"]
            assert resident.model.inline_stops == stops
            # one stop may be preemption; the third in a row is the model: demoted
            assert (resident.model.inline is None) == (stops == 3)
        assert time.monotonic() - started < 30
        again = await client.post("/v2/models/loop/infer", json=loop_request(2))
        assert again.status == 200 and (await again.json())["outputs"][0]["data"] == [2.0]
        assert resident.model.inline_runs == 1  # served by the thread from now on
