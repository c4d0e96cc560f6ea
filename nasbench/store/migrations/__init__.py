"""Alembic migrations of nasbench's own tables (``nb_*``), run by ``nasbench.store.migrate``."""
