"""The results store: SQLAlchemy models, sessions, and queries returning pandas DataFrames.

``load_trials`` and ``load_epochs`` (which import pandas) are loaded on first use, so a command
that only reads a few rows (``nasbench status``) does not pay for pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nasbench.store.db import default_url, mask_url, open_engine, open_reader, session_scope

if TYPE_CHECKING:
    from nasbench.store.ledger import SqlLedger
    from nasbench.store.records import load_epochs, load_trials

__all__ = [
    "default_url",
    "load_epochs",
    "load_trials",
    "mask_url",
    "open_engine",
    "open_ledger",
    "open_reader",
    "session_scope",
]


def __getattr__(name: str) -> Any:
    if name in ("load_trials", "load_epochs"):
        from nasbench.store import records

        return getattr(records, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_ledger(url: str | None = None, create: bool = True) -> SqlLedger:
    """The results store at ``url`` (default: $NASBENCH_DB or sqlite:///nasbench.db) as a search's ledger.

    ``create=False`` for commands that only read: connected now, and nothing is created (see ``open_reader``).
    """
    from nasbench.store.ledger import SqlLedger

    url = url or default_url()
    return SqlLedger(url, None if create else open_reader(url))
