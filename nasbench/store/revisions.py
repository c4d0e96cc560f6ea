"""Which schema revision a results database records, read without Alembic (which costs 0.1-0.3 s
to import): what commands that only read check before they read. Writers bring the schema up to
date through ``nasbench.store.migrate``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, inspect, text

from nasbench.errors import StoreError

VERSION_TABLE = "nb_alembic_version"  # Optuna, which shares the database, keeps its own alembic_version
LEGACY_TABLE = "nb_studies"  # every database of the releases before migrations has it
VERSIONS = Path(__file__).with_name("migrations") / "versions"
# A revision file's `revision = "0002"` and `down_revision = "0001"` (or None) lines.
_FIELD = re.compile(r"""^(revision|down_revision)\s*(?::[^=]*)?=\s*(?:["']([^"']*)["']|None)\s*$""", re.MULTILINE)


@cache
def known_revisions() -> list[str]:
    """Every revision this nasbench knows, oldest first, from the revision files themselves."""
    parent_of: dict[str, str | None] = {}
    for path in VERSIONS.glob("*.py"):
        fields = {m[1]: m[2] for m in _FIELD.finditer(path.read_text())}
        if "revision" in fields:
            parent_of[fields["revision"]] = fields.get("down_revision")
    child_of = {parent: rev for rev, parent in parent_of.items()}
    chain: list[str] = []
    rev = child_of.get(None)
    while rev is not None:
        chain.append(rev)
        rev = child_of.get(rev)
    return chain


def current_revision(conn: Connection) -> str | None:
    """The database's revision, or None (new database, or written before migrations)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def check_known(conn: Connection, where: str) -> str | None:
    """The database's revision; StoreError when a newer nasbench wrote it."""
    revision = current_revision(conn)
    known = known_revisions()
    if revision is not None and revision not in known:
        raise StoreError(
            f"database {where} has schema revision {revision}, newer than this nasbench "
            f"knows (up to {known[-1]}): upgrade nasbench to use it."
        )
    return revision
