"""Which onnxruntime execution providers to ask for, chosen by a quiet, truthful check.

``get_available_providers()`` lists CUDA whenever the GPU wheel is installed, even with no GPU or
without the CUDA libraries; asking for CUDA there prints pages of errors and silently falls back
to the CPU. So the check builds a one-node model, asks for CUDA with the logger silenced, and
believes only what the session really got.
"""

from __future__ import annotations

import functools
import logging

import onnxruntime as ort

from hub.onnx.sessions import identity_model

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

#: Severity onnxruntime logs at by default (WARNING); restored after the probe.
_DEFAULT_SEVERITY = 2


def _preload_pip_cuda_libraries() -> None:
    """Load CUDA/cuDNN from the ``nvidia-*`` pip packages (as PyTorch installs them), if any.

    onnxruntime-gpu does not search those folders by itself; without this, a machine whose CUDA
    comes only from pip would silently serve on the CPU.
    """
    import importlib.util

    if importlib.util.find_spec("nvidia") is None or not hasattr(ort, "preload_dlls"):
        return
    try:
        ort.preload_dlls(directory="")
    except Exception as exc:  # a partial CUDA install: the probe below will say CPU
        log.debug("preloading CUDA libraries from nvidia packages failed: %s", exc)


@functools.lru_cache(maxsize=1)
def cuda_works() -> bool:
    """True when a session asked for CUDA really runs on CUDA (measured once, then cached)."""
    if CUDA not in ort.get_available_providers():
        return False
    _preload_pip_cuda_libraries()
    ort.set_default_logger_severity(4)
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 4
        session = ort.InferenceSession(identity_model(), options, providers=[CUDA, CPU])
        return CUDA in session.get_providers()
    except Exception:
        return False
    finally:
        ort.set_default_logger_severity(_DEFAULT_SEVERITY)


def choose_providers(override: tuple[str, ...] | list[str] | None = None) -> list[str]:
    """The providers to request: ``override`` (``ONNXHUB_PROVIDERS``) if given, else CUDA+CPU
    when CUDA really works, else CPU only. Unknown names in an override are dropped with a log
    line; CPU is always appended as the last fallback."""
    if override:
        available = set(ort.get_available_providers())
        chosen = [p for p in override if p in available]
        for missing in (p for p in override if p not in available):
            log.warning(
                "execution provider %s is not available in this onnxruntime; ignored", missing
            )
        if CPU not in chosen:
            chosen.append(CPU)
        return chosen
    return [CUDA, CPU] if cuda_works() else [CPU]
