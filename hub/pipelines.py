"""Task pipelines: a callable that takes rows and returns what the task returns.

``hub.pipeline(task, model)`` on the local catalog and ``hub.Client(url).pipeline(task, model)``
over HTTP give the same callable; only how outputs are computed differs (onnxruntime here, V2
inference there). What each task returns:

- ``tabular-classification`` (and any ``*-classification``): :class:`Classification` with
  ``labels`` (shape ``[n]``) and ``probabilities`` (``[n, classes]`` float32, or None).
- ``tabular-regression`` (and any ``*-regression``): the predicted values as a float array,
  ``[n]`` for one target, ``[n, targets]`` for several.
- ``generation``: the generated samples (the generator's first output); call it with the
  number of samples (and ``seed=``) instead of rows.
- anything else: the dict of output arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from hub.errors import InvalidInput
from hub.onnx.datatypes import V2_TO_NUMPY

Outputs = dict[str, np.ndarray]


@dataclass(frozen=True)
class Classification:
    """Labels ``[n]`` and class probabilities ``[n, classes]`` (None when not exported)."""

    labels: np.ndarray
    probabilities: np.ndarray | None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.labels if dtype is None else self.labels.astype(dtype)

    def __len__(self) -> int:
        return len(self.labels)


def rows_to_feeds(rows: Any, inputs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Rows (an array, a DataFrame, or a dict of arrays) as feeds in the graph's dtypes.

    One graph input takes the whole array/DataFrame (``[n, features]``); several inputs take a
    dict or a DataFrame's columns of the same names.
    """
    if isinstance(rows, Mapping):
        feeds = {str(k): np.asarray(v) for k, v in rows.items()}
    elif len(inputs) == 1:
        feeds = {inputs[0]["name"]: np.asarray(rows)}
    elif hasattr(rows, "columns"):
        feeds = {spec["name"]: np.asarray(rows[spec["name"]]).reshape(-1, 1) for spec in inputs}
    else:
        names = ", ".join(i["name"] for i in inputs)
        raise InvalidInput(f"the model has several inputs ({names}): pass a dict or DataFrame")
    out = {}
    for spec in inputs:
        name = spec["name"]
        if name not in feeds:
            raise InvalidInput(f"no data for input {name!r}")
        dtype = V2_TO_NUMPY[spec["datatype"]]
        array = feeds[name]
        if len(spec["shape"]) == 2 and array.ndim == 1:
            array = array.reshape(1, -1) if spec["shape"][1] == array.shape[0] else array[:, None]
        out[name] = array.astype(dtype, copy=False)
    return out


def shape_result(task: str, outputs: Outputs, label_outputs: list[str]) -> Any:
    """What ``task`` returns, from a model's named outputs."""
    if task.endswith("classification"):
        label_name = next((n for n in label_outputs if n in outputs), None)
        if label_name is None:
            label_name = next(
                (n for n, a in outputs.items() if a.dtype.kind in "iuUSOb"), next(iter(outputs))
            )
        probabilities = next(
            (a for n, a in outputs.items() if n != label_name and a.dtype.kind == "f"), None
        )
        return Classification(np.asarray(outputs[label_name]).reshape(-1), probabilities)
    if task.endswith("regression"):
        values = np.asarray(next(iter(outputs.values())))
        return values.reshape(-1) if values.ndim == 2 and values.shape[1] == 1 else values
    if task == "generation":
        return np.asarray(next(iter(outputs.values())))
    return outputs


def make_pipeline(
    task: str,
    version: Mapping[str, Any],
    run: Callable[[dict[str, np.ndarray], dict[str, Any]], Outputs],
) -> Callable[..., Any]:
    """A callable over ``run(feeds, parameters)`` for a version record (``inputs``, ``task``,
    ``metadata.label_outputs``); refuses a model whose task is another one."""
    declared = version.get("task")
    if declared and declared != task:
        raise InvalidInput(f"{version.get('model')} is a {declared} model, not {task}")
    metadata = version.get("metadata") or {}
    labels = list(metadata.get("label_outputs") or [])
    inputs = list(version["inputs"])

    def pipeline(rows: Any = None, *, seed: int | None = None) -> Any:
        if task == "generation":
            count = 1 if rows is None else int(rows)
            parameters: dict[str, Any] = {"num_samples": count}
            if seed is not None:
                parameters["seed"] = seed
            return shape_result(task, run({}, parameters), labels)
        return shape_result(task, run(rows_to_feeds(rows, inputs), {}), labels)

    return pipeline


def local_pipeline(task: str, model: str, hub: Any = None) -> Callable[..., Any]:
    """``hub.pipeline(task, model)``: the same callable over the local catalog (onnxruntime
    here). ``model`` is ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``; ``hub`` defaults to the
    one ``ONNXHUB_*`` configures."""
    from hub.api import Hub
    from hub.families.generation import draw_latent

    name, _, rest = model.replace("@", ":", 1).partition(":")
    ref: int | str | None = int(rest) if rest.isdigit() else (rest or None)
    owner = hub or Hub()
    try:
        predictor = owner.open(name, ref)
    finally:
        if hub is None:
            owner.close()
    record = predictor.version.to_json()

    def run(feeds: dict[str, np.ndarray], parameters: dict[str, Any]) -> Outputs:
        latent = predictor.version.latent_input
        if not feeds and latent:
            spec = next(i for i in record["inputs"] if i["name"] == latent)
            seed = parameters.get("seed", 0)
            noise = draw_latent(parameters["num_samples"], spec["shape"][1], seed)
            feeds = {latent: noise.astype(V2_TO_NUMPY[spec["datatype"]])}
        return predictor.predict(feeds)

    return make_pipeline(task, record, run)
