"""The report's opening sentence compares the best searched network with a baseline by size."""

from __future__ import annotations

import pandas as pd

from nasbench.report.summary import _baseline_sentence


def row(params: float | None, name: str = "net") -> pd.Series:
    figures = {"params": params, "val_acc": 0.9, "test_acc": 0.89}
    return pd.Series({"name": name, "family": "hand-written baseline", **figures})


def test_the_size_comparison_says_how_many_times_and_never_one_times():
    plain = row(100_000, "plain4")
    assert "That is 2.0x fewer parameters than the plain4" in _baseline_sentence(row(50_000), plain)
    assert "That is 1.5x more parameters than the plain4" in _baseline_sentence(row(150_000), plain)
    # Fashion-MNIST: 82,072 against plain3's 84,650 read "1.0x fewer parameters".
    assert "That is about as many parameters as the plain3" in _baseline_sentence(row(82_072), row(84_650, "plain3"))
