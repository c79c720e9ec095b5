"""Fixtures for models with external data: a folder on disk and a hub to publish it to."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.large.models import Mlp, write_mlp


@pytest.fixture
def mlp(tmp_path: Path) -> Mlp:
    """A 4-layer MLP (about 2 MB of float32) in ``tmp_path/src/mlp``, weights in five files."""
    return write_mlp(tmp_path / "src" / "mlp")


@pytest.fixture
def rows() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((6, 32)).astype(np.float32)
