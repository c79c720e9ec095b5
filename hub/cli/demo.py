"""``onnxhub demo``: train tiny models, publish them with parity reports, serve, infer, exit."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import click

from hub.cli.common import console, open_hub
from hub.errors import HubError
from hub.export.parity import ParityReport


def _train_models() -> list[dict[str, Any]]:
    """Three tiny scikit-learn models on built-in data sets, with held-out rows."""
    from sklearn.datasets import load_diabetes, load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=0)
    Xd, yd = load_diabetes(return_X_y=True)
    Xdtr, Xdte, ydtr, _ = train_test_split(Xd, yd, test_size=0.3, random_state=0)
    return [
        {
            "name": "iris-logreg",
            "model": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(
                Xtr, ytr
            ),
            "sample": Xte.astype("float32"),
            "tags": ["demo", "iris"],
            "card": "---\nlicense: cc0-1.0\ntags: [tabular]\n---\n\n# Iris classifier\n\n"
            "Logistic regression on the four iris measurements.\n",
        },
        {
            "name": "iris-forest",
            "model": RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(
                Xtr, ytr
            ),
            "sample": Xte.astype("float32"),
            "tags": ["demo", "iris"],
            "card": None,
        },
        {
            "name": "diabetes-ridge",
            "model": Ridge(alpha=1.0).fit(Xdtr, ydtr),
            "sample": Xdte.astype("float32"),
            "tags": ["demo"],
            "card": None,
        },
    ]


def _publish_if_changed(hub: Any, spec: dict[str, Any]) -> Any:
    """Publish ``spec``'s model unless a version of it already holds the same ONNX bytes and
    test data (then nothing is written and no alias moves, whatever the user did with the
    model since): a second demo run leaves the catalog as the first left it."""
    from hub.catalog.artifacts import sha256_hex
    from hub.errors import NotFound

    checked = hub.export(spec["model"], spec["sample"])
    digests = (sha256_hex(checked.model_bytes), sha256_hex(checked.test_data or b""))
    try:
        versions = hub.list_versions(spec["name"])
    except NotFound:
        versions = []
    same = [v for v in versions if (v.sha256, v.test_data_sha256) == digests]
    if same:
        click.echo(f"\n{same[-1].ref} is already published with these bytes: left as it is")
        return same[-1]
    version = hub.publish(
        spec["model"],
        name=spec["name"],
        sample=spec["sample"],
        tags=spec["tags"],
        card=spec["card"],
        alias="production",
    )
    click.echo(f"\npublished {version.ref} ({version.family}, {version.size} bytes)")
    return version


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _serve_and_infer(name: str, rows: list[list[float]], timeout: float) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "hub.cli.main",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command, env=os.environ.copy())
    try:
        deadline = time.monotonic() + timeout
        with console.status(f"starting onnxhub serve on {base} ..."):
            while True:
                if server.poll() is not None:
                    raise HubError(f"the server exited with code {server.returncode}")
                try:
                    if _http("GET", f"{base}/v2/health/ready")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise HubError(f"the server did not become ready within {timeout:.0f} s")
                time.sleep(0.2)
        body: dict[str, Any] = {
            "id": "demo-1",
            "inputs": [
                {
                    "name": "input",
                    "shape": [len(rows), len(rows[0])],
                    "datatype": "FP32",
                    "data": rows,
                }
            ],
        }
        status, meta = _http("GET", f"{base}/v2/models/{name}")
        body["inputs"][0]["name"] = meta["inputs"][0]["name"]
        click.echo(f"\nPOST {base}/v2/models/{name}/infer")
        click.echo(json.dumps(body))
        status, answer = _http("POST", f"{base}/v2/models/{name}/infer", body)
        click.echo(f"-> HTTP {status}")
        click.echo(json.dumps(answer)[:2000])
        if status != 200:
            raise HubError(f"the demo inference failed with HTTP {status}: {answer.get('error')}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


@click.command()
@click.option("--no-serve", is_flag=True, help="Only publish and predict in-process.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the server.")
def demo(no_serve: bool, timeout: float) -> None:
    """Publish three tiny scikit-learn models, then serve one and run a real inference.

    Running it again publishes nothing new: a model whose production version already holds
    the same bytes is left as it is.
    """
    with console.status("training tiny scikit-learn models..."):
        specs = _train_models()
    with open_hub() as hub:
        click.echo(f"catalog: {hub.settings.database_url}")
        for spec in specs:
            with console.status(f"exporting {spec['name']} and checking parity..."):
                version = _publish_if_changed(hub, spec)
            click.echo(ParityReport.from_json(version.parity or {}).summary())
        first = specs[0]
        predictor = hub.open(first["name"])
        rows = first["sample"][:3]
        outputs = predictor.predict(rows)
        click.echo(
            f"\nin-process prediction with {predictor.version.ref} on {predictor.providers}:"
        )
        for key, value in outputs.items():
            click.echo(f"  {key}: {value.tolist()}")
        click.echo(f"  scikit-learn says: {first['model'].predict(rows).tolist()}")
    if not no_serve:
        _serve_and_infer(first["name"], rows.tolist(), timeout)
    click.echo(
        "\nDone. To keep serving these models:\n"
        "  .venv/bin/onnxhub serve --host 127.0.0.1 --port 8080\n"
        "then open http://127.0.0.1:8080/ in a browser (search, try a model in its page: the\n"
        "numbers are scikit-learn's), or e.g. curl http://127.0.0.1:8080/v2/models/iris-logreg"
    )
