"""Durations as written in study files."""

from __future__ import annotations

import pytest

from nasbench.core.durations import parse_duration


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("1h", 3600), ("45", 45),
                                           (" 1.5 min ", 90), ("2sec", 2)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "1d", "-3s", "1h30m"])
def test_unreadable_durations_name_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read duration"):
        parse_duration(text)
