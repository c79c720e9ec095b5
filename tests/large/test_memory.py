"""What a loaded model is charged: the resident memory its load added, never less than its files."""

from __future__ import annotations

import numpy as np

from hub.serving.memory import load_cost, resident_bytes


def test_resident_bytes_grows_with_touched_memory() -> None:
    before = resident_bytes()
    block = np.ones(64 * 2**20, dtype=np.uint8)  # 64 MiB, every page written
    after = resident_bytes()
    assert before is not None and after is not None
    assert after - before >= 60 * 2**20
    del block


def test_load_cost_is_the_growth_but_at_least_the_files() -> None:
    assert load_cost(100, 5_000, 1_000) == 4_900
    assert load_cost(5_000, 100, 1_000) == 1_000  # memory freed meanwhile by other threads
    assert load_cost(None, 5_000, 1_000) == 1_000  # unmeasurable here
