"""Measure tests share the machine: one torch thread each, restored afterwards (on shared cores torch's
pool would spin: a proxy evaluation 10-50x slower with two threads, see ``nasbench.train.threads``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
