"""The shared conformance suite, as shipped in the package (:mod:`hub.families.conformance`).

Here it runs over every installed family; ``--onnxhub-family NAME`` narrows it to one::

    python -m pytest tests/conformance --onnxhub-family xgboost
"""

from hub.families.conformance import *  # noqa: F403  (the tests, fixtures and parametrisation)
