"""Helpers the file-based loaders share: where the data lives, which files to skip."""

from __future__ import annotations

import os
from pathlib import Path

from nasbench.errors import DataError

PathLike = str | os.PathLike[str]


def data_dir(path: PathLike | None, env_var: str, what: str, default: Path | None = None, hint: str = "") -> Path:
    """The folder to read: ``path``, else ``$env_var``, else ``default``; DataError if absent."""
    chosen = path if path is not None else os.environ.get(env_var) or default
    how = f"{hint}pass path= or set ${env_var}"  # hint: e.g. how to install the data
    if chosen is None:
        raise DataError(f"no {what} folder given; {how}.")
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: {what} folder not found; {how}.")
    return folder


def data_file(path: PathLike, what: str) -> Path:
    """``path`` as an existing file; DataError naming it otherwise."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"{file}: {what} file not found.")
    return file


def is_hidden(name: str) -> bool:
    # Finder, Explorer and editors leave dot-files (.DS_Store, ._x.png) that are not data.
    return name.startswith(".")
