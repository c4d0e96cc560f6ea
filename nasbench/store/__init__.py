"""The results store: SQLAlchemy models, sessions, and queries returning pandas DataFrames."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nasbench.store.db import default_url, mask_url, open_engine, open_reader, session_scope
from nasbench.store.records import load_epochs, load_trials

if TYPE_CHECKING:
    from nasbench.store.ledger import SqlLedger

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


def open_ledger(url: str | None = None, create: bool = True) -> SqlLedger:
    """The results store at ``url`` (default: $NASBENCH_DB or sqlite:///nasbench.db) as a search's ledger.

    ``create=False`` for commands that only read: connected now, and nothing is created (see ``open_reader``).
    """
    from nasbench.store.ledger import SqlLedger

    url = url or default_url()
    return SqlLedger(url, None if create else open_reader(url))
