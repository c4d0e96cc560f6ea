"""Torch's CPU thread count for a block of work.

Small networks run fastest on one thread, and on shared CPUs extra threads mostly wait for each
other (measured here with 2 cores under load: a proxy evaluation 10-50x slower with 2 threads than
with 1, Optuna's GP sampler 4x slower). Training, timing, proxies and replay default to 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from nasbench.errors import ConfigError


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads, restoring the previous count after."""
    if n < 1:
        raise ConfigError(f"--threads must be at least 1, got {n}.")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
