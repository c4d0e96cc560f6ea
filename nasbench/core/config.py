"""What every YAML file nasbench reads shares: a strict, frozen pydantic base model, reading the
file into a mapping, and one sentence for the first validation error.

Messages name the file first: ``<path>: <what> file not found.``, ``<path>: not valid YAML
(line L, column C).``, ``<path>: a <what> file must be a YAML mapping.``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from nasbench.errors import ConfigError


class Strict(BaseModel):
    """A config section: unknown fields are errors (typos surface), values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_config_text(path: str | Path, what: str) -> str:
    """The text of the ``what`` file at ``path`` (e.g. what="study"); ConfigError if it is missing."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} file not found.")
    return path.read_text()


def parse_yaml_mapping(text: str, path: str | Path, what: str) -> dict[str, Any]:
    """``text`` (read from ``path``) as a YAML mapping; ConfigError naming the file otherwise."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({_yaml_where(e)}).") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a {what} file must be a YAML mapping.")
    return data


def load_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """The ``what`` file at ``path`` read as a YAML mapping; every failure is one ConfigError."""
    return parse_yaml_mapping(read_config_text(path, what), path, what)


def first_error(e: ValidationError) -> str:
    """One sentence for the first validation error: field path and message."""
    err = e.errors()[0]
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    if not err["loc"]:
        return f"{msg}."
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    return f"field '{loc}': {msg}."


def _yaml_where(e: yaml.YAMLError) -> str:
    """Where the YAML broke: line and column, or (when the reader has no mark) its reason."""
    mark = getattr(e, "problem_mark", None)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}"
    return (str(e).splitlines() or ["syntax error"])[0]  # e.g. "unacceptable character #x0007: ..."
