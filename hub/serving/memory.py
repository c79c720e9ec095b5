"""What a loaded model really costs in memory: the process's resident set, measured around load.

onnxruntime memory-maps external weights and may copy or pre-pack others, so a model's file
size says little about its cost. The resident set (anonymous and file-backed pages) is read
from ``/proc/self/statm`` before the model's files are fetched (verified, laid out) and after
its session's warm-up run; elsewhere (no ``/proc``) the file size is all there is.
"""

from __future__ import annotations

import os

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """This process's resident set size in bytes, or None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def load_cost(before: int | None, after: int | None, file_size: int) -> int:
    """Bytes a load is charged: the growth of the resident set, never less than the model's
    files (other threads may free memory meanwhile, and an unmeasured load still costs them)."""
    if before is None or after is None:
        return file_size
    return max(file_size, after - before)
