"""End to end: ``onnxhub serve`` in a subprocess, driven by the real tritonclient."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as httpclient
from hostile import write_token
from onnx_graphs import ALL_TYPES, all_types_model, all_types_sample, slow_model
from tritonclient.utils import InferenceServerException

from hub.api import Hub
from hub.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path, logreg):  # type: ignore[no-untyped-def]
    """A catalog with ``iris`` and ``alltypes``, served by ``onnxhub serve`` on a free port."""
    home = tmp_path / "home"
    with Hub(Settings.for_home(home)) as hub:
        model, X = logreg
        hub.publish(model, name="iris", sample=X)
        hub.publish(all_types_model(), name="alltypes", sample=all_types_sample())
    port = _free_port()
    env = {
        **os.environ,
        "ONNXHUB_HOME": str(home),
        "ONNXHUB_PROVIDERS": "CPUExecutionProvider",
        "ONNXHUB_INTRA_OP_THREADS": "1",
        "ONNXHUB_EVENT_POLL_INTERVAL": "0.2",
        "ONNXHUB_WORKERS": "1",  # one process: the tests read its runs and metrics
    }
    env.pop("ONNXHUB_DATABASE_URL", None)
    env.pop("ONNXHUB_ARTIFACTS", None)
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "hub.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = httpclient.InferenceServerClient(f"127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, (tmp_path / "serve.log").read_text()
        try:
            if client.is_server_ready():
                break
        except Exception:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.1)
    yield server, client, home, model, X, tmp_path / "serve.log"
    client.close()
    if server.poll() is None:
        server.kill()
        server.wait()
    log.close()


@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_infers_with_and_without_binary_data(served, binary: bool) -> None:
    server, client, _home, model, X, _log = served
    assert client.is_server_live() and client.is_model_ready("iris")
    assert {"binary_tensor_data", "model_repository"} <= set(
        client.get_server_metadata()["extensions"]
    )
    meta = client.get_model_metadata("iris")
    assert meta["versions"] == ["1"] and meta["inputs"][0]["shape"] == [-1, 4]

    rows = X[:7]
    inp = httpclient.InferInput("input", list(rows.shape), "FP32")
    inp.set_data_from_numpy(rows, binary_data=binary)
    outputs = [
        httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("label", "probabilities")
    ]
    result = client.infer("iris", [inp], outputs=outputs, request_id="abc", model_version="1")
    np.testing.assert_array_equal(result.as_numpy("label"), model.predict(rows))
    np.testing.assert_allclose(
        result.as_numpy("probabilities"), model.predict_proba(rows), atol=1e-5
    )
    assert result.get_response()["id"] == "abc"

    sample = all_types_sample(rows=3)
    inputs = []
    for v2, key in zip(ALL_TYPES, sample):
        tensor = httpclient.InferInput(key, list(sample[key].shape), v2)
        array = sample[key]
        if v2 == "BYTES":
            array = np.array([[s.encode() for s in row] for row in array], dtype=object)
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    outputs = [httpclient.InferRequestedOutput("out_" + k[3:], binary_data=binary) for k in sample]
    result = client.infer("alltypes", inputs, outputs=outputs)
    for v2, key in zip(ALL_TYPES, sample):
        got = result.as_numpy("out_" + key[3:])
        if v2 == "BYTES":
            got = np.array(
                [[x.decode() if isinstance(x, bytes) else x for x in row] for row in got],
                dtype=object,
            )
        np.testing.assert_array_equal(got, sample[key], err_msg=v2)


def test_repository_catalog_changes_and_graceful_shutdown(served, ridge) -> None:
    server, client, home, model, X, log = served
    index = {e["name"]: e for e in client.get_model_repository_index()}
    assert index["iris"]["state"] == "READY"

    with Hub(Settings.for_home(home)) as hub:
        token = write_token(hub)  # load and unload write to the model: they need a token
    client.unload_model("iris", headers=token)
    assert not client.is_model_ready("iris")
    inp = httpclient.InferInput("input", [1, 4], "FP32")
    inp.set_data_from_numpy(X[:1])
    with pytest.raises(InferenceServerException, match="unloaded"):
        client.infer("iris", [inp])
    client.load_model("iris", headers=token)
    assert client.is_model_ready("iris")
    assert client.infer("iris", [inp]).as_numpy("label").tolist() == model.predict(X[:1]).tolist()

    # Another process (this one) publishes a new version: the server serves it within 2 s.
    from sklearn.linear_model import LogisticRegression

    flipped = LogisticRegression(max_iter=500).fit(X, 2 - model.predict(X))
    with Hub(Settings.for_home(home)) as hub:
        hub.publish(flipped, name="iris", sample=X)
    started = time.monotonic()
    while client.infer("iris", [inp]).get_response()["model_version"] != "2":
        assert time.monotonic() - started < 2.0, "the new version did not reach the server in 2 s"
        time.sleep(0.05)
    assert client.infer("iris", [inp]).as_numpy("label").tolist() == flipped.predict(X[:1]).tolist()

    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=20) == 0
    text = log.read_text()
    assert "loaded iris:1 on CPUExecutionProvider" in text
    assert "now serves version 2" in text


def test_sigterm_drains_in_flight_requests(served) -> None:
    import json
    import threading
    import urllib.request

    server, client, home, _model, _X, log = served
    with Hub(Settings.for_home(home)) as hub:
        hub.publish(slow_model(), name="slow", sample=np.ones((1, 1024), np.float32))
        token = write_token(hub)
    client.load_model("slow", headers=token)
    port = server.args[-1]
    base = f"http://127.0.0.1:{port}"
    rows = np.random.default_rng(0).standard_normal((2048, 1024)).astype(np.float32)
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "datatype": "FP32",
                    "shape": [2048, 1024],
                    "parameters": {"binary_data_size": rows.nbytes},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    outcome: dict = {}

    def send() -> None:
        request = urllib.request.Request(
            f"{base}/v2/models/slow/infer",
            data=header + rows.tobytes(),
            method="POST",
            headers={
                "Inference-Header-Content-Length": str(len(header)),
                # urllib would send a form type, which state-changing routes refuse (415)
                "Content-Type": "application/octet-stream",
            },
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            outcome["status"] = response.status
            outcome["length"] = int(response.headers["Inference-Header-Content-Length"])
            outcome["body"] = response.read()

    sender = threading.Thread(target=send)
    sender.start()
    in_flight = 'onnxhub_runs_in_flight{model="slow",version="1"} 1.0'
    deadline = time.monotonic() + 30
    while in_flight not in urllib.request.urlopen(f"{base}/metrics").read().decode():
        assert time.monotonic() < deadline and sender.is_alive(), "the slow run never started"
        time.sleep(0.01)
    server.send_signal(signal.SIGTERM)
    sender.join(120)
    assert outcome["status"] == 200
    body = outcome["body"]
    y = np.frombuffer(body[outcome["length"] :], dtype=np.float32).reshape(rows.shape)
    np.testing.assert_allclose(y, rows, rtol=1e-5, atol=1e-5)
    assert server.wait(timeout=30) == 0
    assert "unloading slow:1 (shutdown)" in log.read_text()
