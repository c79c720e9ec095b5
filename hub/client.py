"""``hub.Client``: a remote onnxhub over HTTP, from Python.

    client = hub.Client("https://hub.example.com", token="onh_...")
    client.models(search="iris")                  # summaries
    client.download("iris:3", "iris.onnx")        # sha256 verified
    client.publish(model, name="iris", sample=X)  # exported and checked here, checked again there
    client.pipeline("tabular-classification", "iris")(X).labels

References are ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``. Errors are the hub's own
(:class:`~hub.errors.NotFound`, :class:`~hub.errors.Unauthorized`...) carrying the server's
message. The token is sent as ``Authorization: Bearer`` and never printed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

import numpy as np
import requests

from hub import errors
from hub.errors import HubError, InvalidInput, StorageError

if TYPE_CHECKING:
    from hub.export.convert import CheckedExport

HEADER = "Inference-Header-Content-Length"
_BY_STATUS: dict[int, type[HubError]] = {
    400: errors.InvalidInput,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.RequestTooLarge,
    415: errors.UnsupportedMediaType,
    422: errors.ParityFailed,
    503: errors.Unavailable,
}


def split_remote_ref(ref: str) -> tuple[str, str | None]:
    """``NAME`` / ``NAME:3`` / ``NAME@prod`` -> (name, ref string or None)."""
    if "@" in ref:
        name, _, alias = ref.partition("@")
        return name, alias or None
    if ":" in ref:
        name, _, number = ref.partition(":")
        return name, number or None
    return ref, None


#: A Client or a subclass of it (``with CommunityClient(...) as c`` keeps its type).
ClientT = TypeVar("ClientT", bound="Client")


class Client:
    """A remote hub at ``url`` (``http(s)://host:port``), optionally with a bearer token."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._http.close()

    def __enter__(self: ClientT) -> ClientT:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            resp = self._http.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise StorageError(f"cannot reach {self.url}: {exc}") from None
        if resp.status_code >= 400:
            try:
                message = resp.json().get("error") or resp.reason
            except ValueError:
                message = resp.text[:200] or resp.reason
            raise _BY_STATUS.get(resp.status_code, HubError)(f"{self.url}: {message}")
        return resp

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    # -- catalog ----------------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        return self._json("GET", "/api/whoami")

    def models(
        self,
        search: str | None = None,
        task: str | None = None,
        tag: str | None = None,
        sort: str | None = None,
        **filters: str,
    ) -> list[dict[str, Any]]:
        """Every model matching the filters (all pages), as summaries."""
        return list(self._iter_models(search=search, task=task, tag=tag, sort=sort, **filters))

    def _iter_models(self, **params: Any) -> Iterator[dict[str, Any]]:
        query = {k: v for k, v in params.items() if v is not None}
        query["limit"] = 100
        while True:
            page = self._json("GET", "/api/models", params=query)
            yield from page["models"]
            if not page["next_cursor"]:
                return
            query["cursor"] = page["next_cursor"]

    def model(self, name: str) -> dict[str, Any]:
        return self._json("GET", f"/api/models/{name}")

    def version(self, ref: str) -> dict[str, Any]:
        """A version record; ``NAME`` alone is ``production`` if set, else the latest."""
        name, version = split_remote_ref(ref)
        if version is None:
            detail = self.model(name)
            version = str(detail["aliases"].get("production") or detail["latest_version"])
        return self._json("GET", f"/api/models/{name}/versions/{version}")

    def _file(self, record: dict[str, Any], file: str) -> bytes:
        path = f"/api/models/{record['model']}/versions/{record['version']}/{file}"
        data = self._request("GET", path).content
        expected = record["sha256"] if file == "model.onnx" else record["test_data_sha256"]
        got = hashlib.sha256(data).hexdigest()
        if got != expected:
            raise StorageError(
                f"{file} of {record['model']}:{record['version']} arrived with "
                f"sha256 {got}, expected {expected}"
            )
        return data

    def download(self, ref: str, path: str | os.PathLike[str]) -> Path:
        """Write the version's ONNX file to ``path`` after checking its sha256; a version with
        external-data files goes into the folder ``path`` instead (:meth:`download_files`),
        and the graph's path there is returned."""
        record = self.version(ref)
        from hub.remote_files import manifest_files

        if len(manifest_files(record)) > 1:
            return self.download_files(record, path)[0]
        data = self._file(record, "model.onnx")
        target = Path(path)
        tmp = target.with_name(f".{target.name}.part")
        tmp.write_bytes(data)
        tmp.replace(target)
        return target

    def download_files(
        self, ref: str | dict[str, Any], folder: str | os.PathLike[str]
    ) -> list[Path]:
        """Every file of the version (``ref``, or a record from :meth:`version`) into
        ``folder``: streamed, resumed with ``Range`` after an interruption, each sha256
        verified (:mod:`hub.remote_files`); the paths, graph first."""
        from hub.remote_files import fetch_files

        record = self.version(ref) if isinstance(ref, str) else ref
        return fetch_files(self, record, Path(folder))

    def fetch(self, ref: str) -> tuple[dict[str, Any], bytes, bytes | None]:
        """(version record, ONNX bytes, test data bytes or None), each sha256 verified."""
        record = self.version(ref)
        model = self._file(record, "model.onnx")
        data = self._file(record, "test_data.npz") if record.get("test_data_sha256") else None
        return record, model, data

    def upload(
        self,
        name: str,
        model_bytes: bytes,
        *,
        test_data: bytes | None = None,
        card: str | None = None,
        metadata: dict[str, Any] | None = None,
        data_files: dict[str, Path] | None = None,
    ) -> dict[str, Any]:
        """``POST /api/models/{name}/versions``: the server checks and re-runs everything.

        ``data_files``: for a graph whose weights are external data, each data file by the
        path the graph gives it (``{"weights/w0.bin": Path(...)}``); they stream from disk."""
        if data_files:
            return self._upload_streamed(name, model_bytes, test_data, card, metadata, data_files)
        files = model_form(model_bytes, test_data, card, metadata)
        return self._json("POST", f"/api/models/{name}/versions", files=files)

    def _upload_streamed(
        self,
        name: str,
        model_bytes: bytes,
        test_data: bytes | None,
        card: str | None,
        metadata: dict[str, Any] | None,
        data_files: dict[str, Path],
    ) -> dict[str, Any]:
        from hub.remote_files import multipart_body

        octets = "application/octet-stream"
        parts: list[tuple[str, str | None, str, bytes | Path]] = [
            ("model", "model.onnx", octets, model_bytes)
        ]
        if test_data is not None:
            parts.append(("test_data", "test_data.npz", octets, test_data))
        if card is not None:
            parts.append(("card", None, "text/markdown", card.encode("utf-8")))
        if metadata:
            parts.append(("metadata", None, "application/json", json.dumps(metadata).encode()))
        parts += [("data", path, octets, Path(file)) for path, file in data_files.items()]
        content_type, body = multipart_body(parts)
        return self._json(
            "POST",
            f"/api/models/{name}/versions",
            data=body,
            headers={"Content-Type": content_type},
        )

    def publish(
        self,
        model_or_path: Any,
        *,
        name: str,
        sample: Any,
        family: str | None = None,
        card: str | None = None,
        tags: list[str] | tuple[str, ...] = (),
        task: str | None = None,
        alias: str | None = None,
        license: str | None = None,
        private: bool | None = None,
    ) -> dict[str, Any]:
        """Export and check parity here through the families, then upload ONNX, test data and
        card; the server re-runs the test data and stores its own figures."""
        checked = checked_here(
            model_or_path, sample, family, f"parity check failed for {name!r}; nothing was uploaded"
        )
        defaults = checked.card_defaults
        metadata = export_metadata(checked)
        metadata["tags"] = [*tags, *[str(t) for t in defaults.get("tags", [])]]
        for key, value in (
            ("task", task or checked.exported.task or defaults.get("task")),
            ("alias", alias),
            ("license", license),
            ("library", defaults.get("library")),
        ):
            if value:
                metadata[key] = value
        if private is not None:
            metadata["private"] = private
        if checked.exported.latent_input:
            metadata["latent_input"] = checked.exported.latent_input
        return self.upload(
            name, checked.model_bytes, test_data=checked.test_data, card=card, metadata=metadata
        )

    def update_model(self, name: str, **fields: Any) -> dict[str, Any]:
        """``PATCH /api/models/{name}``: description, card, tags, task, license, private."""
        return self._json("PATCH", f"/api/models/{name}", json=fields)

    def set_alias(self, name: str, alias: str, version: int) -> dict[str, Any]:
        return self._json("PUT", f"/api/models/{name}/aliases/{alias}", json={"version": version})

    # -- inference --------------------------------------------------------------------------
    def predict(
        self, ref: str, inputs: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> dict[str, np.ndarray]:
        """V2 inference with binary tensors both ways: ``{output name: array}``."""
        from hub.onnx.datatypes import V2_TO_NUMPY

        name, version = split_remote_ref(ref)
        path = f"/v2/models/{name}" + (f"/versions/{version}" if version else "") + "/infer"
        specs, blobs = [], []
        to_v2 = {dtype: v2 for v2, dtype in V2_TO_NUMPY.items() if v2 != "BYTES"}
        for input_name, value in inputs.items():
            array = np.ascontiguousarray(value)
            datatype = to_v2.get(array.dtype)
            if datatype is None:
                raise InvalidInput(f"input {input_name!r}: dtype {array.dtype} has no V2 datatype")
            blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
            specs.append(
                {
                    "name": input_name,
                    "datatype": datatype,
                    "shape": list(array.shape),
                    "parameters": {"binary_data_size": len(blob)},
                }
            )
            blobs.append(blob)
        doc: dict[str, Any] = {
            "inputs": specs,
            "parameters": {"binary_data_output": True, **(parameters or {})},
        }
        header = json.dumps(doc).encode()
        resp = self._request(
            "POST",
            path,
            data=header + b"".join(blobs),
            headers={HEADER: str(len(header)), "Content-Type": "application/octet-stream"},
        )
        return _decode_outputs(resp, V2_TO_NUMPY)

    def pipeline(self, task: str, model: str) -> Callable[..., Any]:
        """A callable for ``task`` over the remote model (see :mod:`hub.pipelines`)."""
        from hub.pipelines import make_pipeline

        record = self.version(model)
        ref = f"{record['model']}:{record['version']}"
        return make_pipeline(task, record, lambda feeds, params: self.predict(ref, feeds, params))


def model_form(
    model_bytes: bytes, test_data: bytes | None, card: str | None, metadata: dict[str, Any] | None
) -> list[tuple[str, tuple[str | None, Any, str]]]:
    """The ``files`` of a multipart upload of a model (``requests``' form): parts ``model``,
    ``test_data`` and ``card`` when given, ``metadata`` (JSON) when not empty."""
    files: list[tuple[str, tuple[str | None, Any, str]]] = [
        ("model", ("model.onnx", model_bytes, "application/octet-stream"))
    ]
    if test_data is not None:
        files.append(("test_data", ("test_data.npz", test_data, "application/octet-stream")))
    if card is not None:
        files.append(("card", (None, card.encode("utf-8"), "text/markdown")))
    if metadata:
        files.append(("metadata", (None, json.dumps(metadata).encode(), "application/json")))
    return files


def checked_here(
    model_or_path: Any, sample: Any, family: str | None, refusal: str
) -> CheckedExport:
    """The model exported and checked here through the families (a
    :class:`hub.export.convert.CheckedExport`); ParityFailed starting with ``refusal`` when
    parity fails, before anything is sent."""
    from hub.export.convert import convert_and_check
    from hub.families.registry import get_plugin_manager

    checked = convert_and_check(get_plugin_manager(), model_or_path, sample, family=family)
    if not checked.report.passed:
        raise errors.ParityFailed(f"{refusal}\n{checked.report.summary()}", checked.report)
    return checked


def export_metadata(checked: CheckedExport) -> dict[str, Any]:
    """The ``metadata`` part every upload of a checked export carries: its family, framework
    and version, label outputs and the parity figures measured here."""
    return {
        "family": checked.family,
        "framework": checked.framework,
        "framework_version": checked.exported.framework_version,
        "label_outputs": list(checked.exported.label_outputs),
        "parity": checked.report.to_json(),
    }


def _decode_outputs(resp: requests.Response, v2_to_numpy: dict[str, np.dtype]) -> dict:
    body = resp.content
    length = int(resp.headers.get(HEADER, len(body)))
    doc = json.loads(body[:length])
    offset = length
    outputs: dict[str, np.ndarray] = {}
    for out in doc["outputs"]:
        dtype = v2_to_numpy[out["datatype"]]
        size = (out.get("parameters") or {}).get("binary_data_size")
        if size is None:
            outputs[out["name"]] = np.asarray(out["data"], dtype=dtype).reshape(out["shape"])
            continue
        chunk = body[offset : offset + size]
        offset += size
        if out["datatype"] == "BYTES":
            items, pos = [], 0
            while pos < len(chunk):
                n = int.from_bytes(chunk[pos : pos + 4], "little")
                items.append(chunk[pos + 4 : pos + 4 + n].decode("utf-8"))
                pos += 4 + n
            outputs[out["name"]] = np.array(items, dtype=object).reshape(out["shape"])
        else:
            array = np.frombuffer(chunk, dtype=dtype.newbyteorder("<")).astype(dtype)
            outputs[out["name"]] = array.reshape(out["shape"])
    return outputs
