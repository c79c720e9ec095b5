"""Real ``onnxhub serve`` processes for tests: start, wait until ready, stop or kill."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(
    method: str,
    url: str,
    body: Any = None,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(status, parsed JSON body or text) of one request; connection errors raise OSError."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


class ServeProcess:
    """One server process whose output goes to ``log`` (read it when a test fails)."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        # One process unless a test asks for workers (the default is the usable cores).
        full_env = {
            "ONNXHUB_WORKERS": "1",
            **os.environ,
            **env,
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        }
        self._log_file = open(log, "ab")
        self.process = subprocess.Popen(
            args, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    @classmethod
    def serve(cls, env: dict[str, str], log: Path, port: int | None = None) -> "ServeProcess":
        port = port or free_port()
        args = [str(VENV_BIN / "onnxhub"), "serve", "--port", str(port), "--log-level", "info"]
        return cls(args, env, port, log)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"server exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                if http("GET", f"{self.url}/v2/health/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not ready after {timeout} s:\n{self.output()}")

    def infer(self, model: str, body: dict, timeout: float = 30.0) -> tuple[int, Any]:
        return http("POST", f"{self.url}/v2/models/{model}/infer", body, timeout)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit code (killed after ``timeout``)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"server ignored SIGTERM for {timeout} s:\n{self.output()}"
            ) from None
        finally:
            self._log_file.close()

    def kill(self) -> None:
        """SIGKILL (``kill -9``): no drain, no clean-up."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._log_file.close()
