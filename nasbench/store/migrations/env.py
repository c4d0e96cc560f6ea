"""Alembic environment: nasbench's tables only, on a connection handed over by ``nasbench.store.migrate``.

Optuna keeps its own tables (and its own ``alembic_version`` table) in the same database; they are
outside this environment: our revisions live in ``nb_alembic_version`` and comparisons skip every
table that is not ours.
"""

from alembic import context

from nasbench.store.migrate import VERSION_TABLE, include_name
from nasbench.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("nasbench migrations run through nasbench.store.migrate, on an open connection.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    include_name=include_name,
    render_as_batch=True,  # SQLite alters a table by copying it; later revisions need batch mode
    transactional_ddl=True,  # all revisions and the version stamp commit together (SQLite can)
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
