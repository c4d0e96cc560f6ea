"""The results store: SQLAlchemy models, sessions, and queries returning pandas DataFrames."""

from nasbench.store.db import default_url, mask_url, open_engine, session_scope
from nasbench.store.records import load_epochs, load_trials

__all__ = ["default_url", "load_epochs", "load_trials", "mask_url", "open_engine", "session_scope"]
