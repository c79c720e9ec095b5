"""hub.open's predictor: the direct path (an array already in the input's dtype and shape)
answers exactly like the general one, refuses the same inputs and keeps the run time limit."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_graphs import loop_model

from hub.api import Hub
from hub.errors import InvalidInput
from hub.onnx.deadline import RunTimedOut, time_limit
from hub.settings import Settings


@pytest.fixture
def hub(tmp_path) -> Hub:  # type: ignore[no-untyped-def]
    with Hub(Settings.for_home(tmp_path)) as hub:
        yield hub


def test_the_direct_path_answers_like_the_general_path(hub, logreg) -> None:  # type: ignore[no-untyped-def]
    model, X = logreg
    hub.publish(model, name="iris", sample=X[:5])
    predictor = hub.open("iris")
    rows = np.ascontiguousarray(X[:7], dtype=np.float32)
    direct = predictor.predict(rows)  # float32 [7, 4]: straight to onnxruntime
    general = predictor.predict(rows.astype(np.float64).tolist())  # lists: cast by to_feeds
    one_row = predictor.predict(rows[0])  # [4]: the batch axis is added
    assert set(direct) == set(general) == {o.name for o in predictor.session.get_outputs()}
    for name in direct:
        np.testing.assert_array_equal(direct[name], general[name])
        # one row and seven may take different onnxruntime kernels: equal to float rounding
        np.testing.assert_allclose(one_row[name], direct[name][:1], rtol=1e-5, atol=1e-7)
    labels = next(v for v in direct.values() if v.dtype.kind == "i")
    np.testing.assert_array_equal(labels.ravel(), model.predict(X[:7]))


def test_the_direct_path_refuses_what_the_general_path_refuses(hub, logreg) -> None:  # type: ignore[no-untyped-def]
    model, X = logreg
    hub.publish(model, name="iris", sample=X[:5])
    predictor = hub.open("iris")
    bad = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(InvalidInput) as direct:
        predictor.predict(bad)
    with pytest.raises(InvalidInput) as general:
        predictor.predict(bad.tolist())
    assert direct.value.message == general.value.message
    assert "4 features per row, not 3" in direct.value.message


def test_the_direct_path_keeps_the_run_time_limit_and_recovers(hub) -> None:  # type: ignore[no-untyped-def]
    hub.publish(loop_model(), name="loop", sample=np.array([3], dtype=np.int64))
    predictor = hub.open("loop")
    assert predictor.predict(np.array([5], dtype=np.int64))["count"].tolist() == [5.0]
    with time_limit(0.3), pytest.raises(RunTimedOut) as stopped:
        predictor.predict(np.array([10**12], dtype=np.int64))
    assert "ONNXHUB_PARITY_TIMEOUT" in stopped.value.message
    # The stopped run's options are not reused: later runs complete.
    for n in (2, 9):
        assert predictor.predict(np.array([n], dtype=np.int64))["count"].tolist() == [float(n)]
