"""hub.families.estimators: the public helpers single-matrix families export with."""

import numpy as np
import onnxruntime as ort
import pytest

from hub.errors import ExportFailed, InvalidInput
from hub.families.estimators import INPUT_NAME, convert_estimator, expected_features, feature_matrix


def test_feature_matrix_casts_and_refuses_bad_shapes() -> None:
    matrix = feature_matrix([[1, 2], [3, 4]], expected=2, family="demo")
    assert matrix.dtype == np.float32 and matrix.shape == (2, 2)
    with pytest.raises(InvalidInput, match="3 features per row but the model expects 2"):
        feature_matrix(np.zeros((4, 3)), expected=2, family="demo")
    with pytest.raises(InvalidInput, match="non-empty 2-D"):
        feature_matrix(np.zeros(3), expected=None, family="demo")
    with pytest.raises(InvalidInput, match="the demo family takes one 2-D array"):
        feature_matrix({"a": np.zeros((1, 2))}, expected=None, family="demo")
    with pytest.raises(InvalidInput, match="not numeric"):
        feature_matrix([["a", "b"]], expected=None, family="demo")


def test_convert_estimator_gives_tensor_probabilities(logreg) -> None:
    model, X = logreg
    assert expected_features(model) == 4
    proto = convert_estimator(model, graph_name="lr", n_features=4, classifier=True, opset=None)
    assert [o.domain for o in proto.opset_import].count("") == 1
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {INPUT_NAME: X})
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_allclose(probabilities, model.predict_proba(X), atol=1e-5)
    with pytest.raises(ExportFailed, match="cannot convert object"):
        convert_estimator(object(), graph_name="x", n_features=4, classifier=False, opset=None)


def test_estimator_outputs_and_missing_distributions(logreg, ridge) -> None:
    from hub.families.estimators import estimator_outputs, missing_distributions

    clf, Xc = logreg
    out = estimator_outputs(clf, Xc, classifier=True)
    assert set(out) == {"label", "probabilities"} and out["probabilities"].shape == (len(Xc), 3)
    reg, Xr = ridge
    assert estimator_outputs(reg, Xr, classifier=False)["variable"].shape == (len(Xr), 1)
    assert missing_distributions({"numpy": "numpy", "no_such_module_x": "no-such-dist"}) == [
        "no-such-dist"
    ]
