"""``hub.pipeline(task, model)`` on the local catalog: what each task returns, against the
framework's own predictions."""

from __future__ import annotations

import numpy as np
import pytest

from hub.errors import InvalidInput
from hub.pipelines import Classification, local_pipeline


def test_classification_pipeline_gives_sklearns_labels_and_probabilities(sqlite_hub, logreg):
    import pandas as pd

    model, X = logreg
    sqlite_hub.publish(model, name="iris", sample=X)
    pipe = local_pipeline("tabular-classification", "iris", hub=sqlite_hub)
    result = pipe(X)
    assert isinstance(result, Classification) and len(result) == len(X)
    np.testing.assert_array_equal(result.labels, model.predict(X))
    np.testing.assert_allclose(result.probabilities, model.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(np.asarray(result), model.predict(X))
    frame = pd.DataFrame(X.astype(np.float64), columns=["a", "b", "c", "d"])  # cast to FP32
    np.testing.assert_array_equal(pipe(frame).labels, model.predict(X))
    np.testing.assert_array_equal(pipe(X[0]).labels, model.predict(X[:1]))  # one row


def test_regression_pipeline_gives_the_values(sqlite_hub, ridge):
    model, X = ridge
    sqlite_hub.publish(model, name="linear", sample=X, alias="production")
    values = local_pipeline("tabular-regression", "linear@production", hub=sqlite_hub)(X)
    assert values.shape == (len(X),)
    np.testing.assert_allclose(values, model.predict(X), rtol=1e-4, atol=1e-4)
    with pytest.raises(InvalidInput, match="is a tabular-regression model, not"):
        local_pipeline("tabular-classification", "linear:1", hub=sqlite_hub)
