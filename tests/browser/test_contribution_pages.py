"""A contribution reviewed in real headless Chromium: opened by one person over the API, its
checks shown, approved by the owner in the browser, and the model page lists the new version."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hub.community_client import CommunityClient

pytestmark = pytest.mark.browser


def test_a_contribution_is_opened_checked_approved_and_listed(
    new_page, shoot, server, world, log_in, iris_split
) -> None:
    from sklearn.linear_model import LogisticRegression

    Xtr, Xte, ytr, _ = iris_split
    better = LogisticRegression(C=10.0, max_iter=1000).fit(Xtr, ytr)
    with CommunityClient(server.url, token=world.tokens["bob"]) as bob:
        opened = bob.contribute(
            better,
            to="iris",
            sample=Xte,
            title="Less regularisation",
            description="Trained with **C=10**.",
        )
    assert opened["passed"], opened["checks"]

    # a stranger (no login) can read it but sees no review form
    reader = new_page()
    reader.goto("/models/iris")
    assert "1 open" in reader.inner_text("#contributions-link")
    reader.click("#contributions-link")
    reader.wait_for_selector("#contributions")
    shoot(reader, "contributions")
    reader.click("tr.contribution-row a")
    reader.wait_for_selector("#checks")
    assert reader.locator("#review").count() == 0

    owner = new_page()
    log_in(owner, world.tokens["alice"], f"/models/iris/contributions/{opened['id']}")
    assert owner.inner_text("#contribution-title") == "Less regularisation"
    assert owner.inner_text(".description strong") == "C=10"
    checks = owner.locator("tr.check").evaluate_all(
        "rows => rows.map(r => [r.dataset.check, r.classList.contains('passed')])"
    )
    assert [name for name, _ in checks] == [c["name"] for c in opened["checks"]]
    assert all(passed for _, passed in checks)
    assert "no change" in owner.inner_text("#signature-diff")
    assert owner.locator("#contribution-parity tr").count() == 3  # header + label + probabilities
    shoot(owner, "contribution-review")
    owner.fill("#approve-alias", "production")
    owner.click("#approve")
    owner.wait_for_selector("#contribution-status:text-is('approved')")
    assert owner.inner_text("#became-version") == "version 2"
    shoot(owner, "contribution-approved")
    owner.click("#became-version")
    owner.wait_for_url("**/models/iris?version=2")
    versions = owner.locator("tr.version-row").evaluate_all("r => r.map(x => x.dataset.version)")
    assert versions == ["1", "2"]
    assert "production → 2" in owner.inner_text("#aliases")
    # the page's try-it now answers with the contributed model
    owner.fill("textarea[name=input]", json.dumps(Xte[:4].astype(float).tolist()))
    owner.click("#tryit-run")
    owner.wait_for_selector("tr.tryit-output[data-name=label]")
    labels = json.loads(owner.inner_text("tr.tryit-output[data-name=label] td.data"))
    assert labels == better.predict(Xte[:4]).tolist()
    probabilities = json.loads(owner.inner_text("tr.tryit-output[data-name=probabilities] td.data"))
    np.testing.assert_allclose(
        np.reshape(probabilities, (4, 3)), better.predict_proba(Xte[:4]), atol=1e-5
    )
    shoot(owner, "model-version-2")


def test_failed_checks_are_shown_and_block_approval(new_page, shoot, server, world, log_in) -> None:
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 5)).astype(np.float32)
    with CommunityClient(server.url, token=world.tokens["carol"]) as carol:
        opened = carol.contribute(Ridge().fit(X, X.sum(axis=1)), to="iris", sample=X[:10])
    assert not opened["passed"]
    owner = new_page()
    log_in(owner, world.tokens["alice"], f"/models/iris/contributions/{opened['id']}")
    failed = owner.locator("tr.check.failed").evaluate_all("r => r.map(x => x.dataset.check)")
    assert failed == ["signature_compatible"]
    assert owner.is_visible("#cannot-approve") and owner.locator("#approve").count() == 0
    owner.fill("#reject-comment", "A regression cannot replace a classifier.")
    owner.click("#reject")
    owner.wait_for_selector("#contribution-status:text-is('rejected')")
    assert owner.inner_text("#decision-comment") == "A regression cannot replace a classifier."
    shoot(owner, "contribution-rejected")


def test_a_contribution_uploaded_from_the_browser(
    new_page, shoot, world, log_in, iris_split, tmp_path
) -> None:
    from sklearn.linear_model import LogisticRegression

    Xtr, Xte, ytr, _ = iris_split
    checked = world.hub.export(LogisticRegression(C=3.0, max_iter=1000).fit(Xtr, ytr), Xte)
    (tmp_path / "model.onnx").write_bytes(checked.model_bytes)
    (tmp_path / "test_data.npz").write_bytes(checked.test_data)
    page = new_page()
    log_in(page, world.tokens["bob"], "/models/iris/contributions")
    page.fill("#contribute-title", "C=3 from the browser")
    page.fill("#contribute-description", "Uploaded with the **form**.")
    page.set_input_files("#contribute-model", str(tmp_path / "model.onnx"))
    page.set_input_files("#contribute-test-data", str(tmp_path / "test_data.npz"))
    shoot(page, "contribute-form")
    page.click("#contribute-submit")
    page.wait_for_url("**/models/iris/contributions/1")
    assert page.inner_text("#contribution-title") == "C=3 from the browser"
    failed = page.locator("tr.check.failed").count()
    passed = page.locator("tr.check.passed").count()
    assert (failed, passed) == (0, 9)
    assert page.locator("#review").count() == 0  # bob is not a reviewer of alice's model
    assert "parity on 45 rows: PASSED" in page.inner_text("tr.check[data-check=test_data_parity]")
