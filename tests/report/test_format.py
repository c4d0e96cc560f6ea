"""The one formatter module: every way nasbench writes a number, and what a missing value looks like."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasbench.report import format as fmt

MISSING = [None, float("nan"), np.nan, np.float32("nan"), pd.NA, pd.NaT]


@pytest.mark.parametrize("value", MISSING)
def test_missing_values_print_as_blank(value):
    assert fmt.missing(value)
    assert fmt.integer(value) == fmt.decimal(value) == fmt.accuracy(value) == fmt.seconds(value) == ""
    assert fmt.percent(value) == fmt.compact(value) == fmt.scaled(value) == "-"
    assert fmt.cell(value) == "" and fmt.cell(value, blank="-") == "-"
    assert fmt.accuracy(value, blank="n/a") == "n/a"


@pytest.mark.parametrize("value", [0, 0.0, "", "x", np.int64(3), np.array([1.0, np.nan]), float("inf")])
def test_present_values_are_not_missing(value):
    assert not fmt.missing(value)


@pytest.mark.parametrize(("call", "expected"), [
    (lambda: fmt.integer(1234567), "1,234,567"),
    (lambda: fmt.integer(np.float64(60000.0)), "60,000"),
    (lambda: fmt.decimal(0.30751), "0.31"),
    (lambda: fmt.decimal(0.30751, 3), "0.308"),
    (lambda: fmt.decimal(99.5, 0), "100"),
    (lambda: fmt.accuracy(0.8993055), "89.93%"),
    (lambda: fmt.accuracy(1), "100.00%"),
    (lambda: fmt.percent(24.8), "24.8%"),
    (lambda: fmt.percent(15), "15%"),
    (lambda: fmt.seconds(1234.56), "1,234.6 s"),
    (lambda: fmt.compact(167850), "168k"),
    (lambda: fmt.compact(3841280), "3.84M"),
    (lambda: fmt.compact(11172810), "11.2M"),
    (lambda: fmt.compact(2.5e9), "2.5G"),
    (lambda: fmt.compact(999), "999"),
    (lambda: fmt.scaled(1_820_000_000), "1.82 G"),
    (lambda: fmt.scaled(3_841_280), "3.84 M"),
    (lambda: fmt.scaled(57_306), "57,306"),
    (lambda: fmt.scaled(600_000_000, giga_from=1e8), "0.60 G"),
    (lambda: fmt.scaled(846_000, giga_from=1e8, mega_from=0), "0.85 M"),
    (lambda: fmt.cell(0.123456), "0.1235"),
    (lambda: fmt.cell(0.123456, 3), "0.123"),
    (lambda: fmt.cell(12345.6), "12,346"),
    (lambda: fmt.cell(9999), "9999"),
    (lambda: fmt.cell(10000), "10,000"),
    (lambda: fmt.cell("s16 > conv"), "s16 > conv"),
])
def test_each_formatter(call, expected):
    assert call() == expected


def test_utc_now_is_to_the_minute_in_utc():
    assert len(fmt.utc_now()) == len("2025-01-31 14:05 UTC") and fmt.utc_now().endswith(" UTC")
