"""Fixtures for the catalog API: a real iris classifier exported (not published) once, ready to
upload; the hub on both databases and its people with tokens (``api_hub``, ``tokens``) are in
tests/conftest.py, shared with the community tests."""

from __future__ import annotations

import pytest
from api_helpers import IrisExport

from hub.api import Hub
from hub.settings import Settings


@pytest.fixture(scope="session")
def iris_export(tmp_path_factory: pytest.TempPathFactory, iris_split) -> IrisExport:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    Xtr, Xte, ytr, _ = iris_split
    model = LogisticRegression(max_iter=500).fit(Xtr, ytr)
    with Hub(Settings.for_home(tmp_path_factory.mktemp("export-home"))) as hub:
        checked = hub.export(model, Xte)
    return IrisExport(
        model_bytes=checked.model_bytes,
        test_data=checked.test_data,
        X=Xte,
        labels=model.predict(Xte),
        probabilities=model.predict_proba(Xte),
        label_outputs=tuple(checked.exported.label_outputs),
    )
