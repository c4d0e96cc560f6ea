"""Width rounding, and the space package standing alone (no torch, nn or measure)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nasbench.space.widths import make_divisible, scale_width


@pytest.mark.parametrize("value, divisor, expected", [
    (32, 8, 32), (35, 8, 32), (36.5, 8, 40), (3, 8, 8), (91, 8, 88), (17, 4, 16), (10.0, 8, 16),
])
def test_make_divisible_rounds_without_losing_more_than_ten_percent(value: float, divisor: int,
                                                                      expected: int) -> None:
    got = make_divisible(value, divisor)
    assert got == expected and got % divisor == 0 and got >= 0.9 * value


def test_scale_width_keeps_widths_at_one_and_rounds_to_four_otherwise() -> None:
    assert scale_width(30, 1.0) == 30
    assert scale_width(30, 0.5) == 16 and scale_width(64, 0.75) == 48


def test_the_space_package_imports_no_network_code() -> None:
    # In a new interpreter: this test process has torch loaded already.
    modules = ["architecture", "baselines", "sample", "spec", "widths"]
    code = (f"import sys\nfor m in {modules}: __import__('nasbench.space.' + m)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'torch' "
            "or m.startswith(('nasbench.nn', 'nasbench.measure')))\nprint(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
