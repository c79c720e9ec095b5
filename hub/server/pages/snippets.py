"""Copyable code for the model page: curl, tritonclient and ``hub.Client``, filled in with this
server's address, the model, the shown version and a real test row."""

from __future__ import annotations

import json
from typing import Any


def _v2_body(version: dict[str, Any], row: dict[str, Any] | None, latent: str | None) -> dict:
    if latent:
        return {"inputs": [], "parameters": {"seed": 0, "num_samples": 2}}
    inputs = []
    for spec in version["inputs"]:
        data = (row or {}).get(spec["name"])
        shape = [1, *[max(d, 1) for d in spec["shape"][1:]]]
        inputs.append(
            {
                "name": spec["name"],
                "datatype": spec["datatype"],
                "shape": shape,
                "data": data if data is not None else [0] * max(1, _count(shape)),
            }
        )
    return {"inputs": inputs}


def _numpy_dtype(datatype: str) -> str:
    """The numpy spelling of a V2 datatype (``FP32`` -> ``np.float32``)."""
    names = {"FP16": "float16", "FP32": "float32", "FP64": "float64", "BOOL": "bool_"}
    if datatype in names:
        return f"np.{names[datatype]}"
    return f"np.{datatype.lower()}"


def _count(shape: list[int]) -> int:
    total = 1
    for d in shape:
        total *= d
    return total


def snippets(
    base_url: str,
    name: str,
    version: dict[str, Any],
    row: dict[str, Any] | None,
    latent: str | None,
) -> list[dict[str, str]]:
    """``[{"id", "title", "code"}]`` for curl, tritonclient and hub.Client."""
    number = version["version"]
    body = _v2_body(version, row, latent)
    host = base_url.split("://", 1)[-1]
    curl = (
        f"curl -s -X POST {base_url}/v2/models/{name}/versions/{number}/infer \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -d '{json.dumps(body)}'"
    )
    if latent:
        triton = (
            "import tritonclient.http as httpclient\n\n"
            f'client = httpclient.InferenceServerClient("{host}")\n'
            f'result = client.infer("{name}", [], model_version="{number}",\n'
            '                       parameters={"seed": 0, "num_samples": 2})\n'
            f'print(result.as_numpy("{version["outputs"][0]["name"]}"))'
        )
    else:
        lines = [
            "import numpy as np",
            "import tritonclient.http as httpclient",
            "",
            f'client = httpclient.InferenceServerClient("{host}")',
            "inputs = []",
        ]
        for item in body["inputs"]:
            dtype = _numpy_dtype(item["datatype"])
            lines += [
                f"x = np.array({json.dumps(item['data'])}, dtype={dtype})",
                f'inputs.append(httpclient.InferInput("{item["name"]}", x.shape, '
                f'"{item["datatype"]}"))',
                "inputs[-1].set_data_from_numpy(x)",
            ]
        lines.append(f'result = client.infer("{name}", inputs, model_version="{number}")')
        for out in version["outputs"]:
            lines.append(f'print(result.as_numpy("{out["name"]}"))')
        triton = "\n".join(lines)
    if latent:
        client = (
            "import hub\n\n"
            f'client = hub.Client("{base_url}")\n'
            f'outputs = client.predict("{name}:{number}", {{}}, '
            'parameters={"seed": 0, "num_samples": 2})\n'
            "print(outputs)"
        )
    else:
        feeds = ", ".join(
            f'"{item["name"]}": np.array({json.dumps(item["data"])}, '
            f"dtype={_numpy_dtype(item['datatype'])})"
            for item in body["inputs"]
        )
        client = (
            "import numpy as np\nimport hub\n\n"
            f'client = hub.Client("{base_url}")\n'
            f'outputs = client.predict("{name}:{number}", {{{feeds}}})\n'
            "print(outputs)"
        )
    return [
        {"id": "curl", "title": "curl", "code": curl},
        {"id": "tritonclient", "title": "tritonclient", "code": triton},
        {"id": "client", "title": "hub.Client", "code": client},
    ]
