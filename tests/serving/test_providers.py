"""Execution provider choice: a quiet, truthful CUDA check and the ONNXHUB_PROVIDERS override."""

from __future__ import annotations

import logging

import onnxruntime as ort

from hub.onnx.providers import CPU, CUDA, choose_providers, cuda_works


def test_cuda_check_is_truthful_and_quiet(capfd) -> None:
    cuda_works.cache_clear()
    works = cuda_works()
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""  # no onnxruntime error pages
    if works:
        assert choose_providers() == [CUDA, CPU]
    else:
        assert choose_providers() == [CPU]
    assert cuda_works() is works  # cached


def test_cuda_check_agrees_with_a_real_session() -> None:
    from hub.onnx.sessions import identity_model

    options = ort.SessionOptions()
    options.log_severity_level = 4
    providers = [CUDA, CPU] if CUDA in ort.get_available_providers() else [CPU]
    session = ort.InferenceSession(identity_model(), options, providers=providers)
    assert cuda_works() == (CUDA in session.get_providers())


def test_override_keeps_known_providers_and_always_ends_with_cpu(caplog) -> None:
    assert choose_providers(("CPUExecutionProvider",)) == [CPU]
    with caplog.at_level(logging.WARNING):
        assert choose_providers(("NoSuchExecutionProvider",)) == [CPU]
    assert "NoSuchExecutionProvider is not available" in caplog.text
