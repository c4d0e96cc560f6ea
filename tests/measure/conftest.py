"""Measure tests share the machine: one torch thread each, restored afterwards (a proxy evaluation
is 10-50x slower with two spinning threads, see ``nasbench.train.threads``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Every test here runs torch on one thread (tests/conftest.py: one_torch_thread)."""
