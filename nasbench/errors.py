"""The errors nasbench raises for bad input: one sentence naming the file, field or value."""

from __future__ import annotations

from collections.abc import Iterable


class NasbenchError(ValueError):
    """A user-facing error; the CLI prints its message and exits non-zero."""


class ConfigError(NasbenchError):
    """A study or space file, or one of its fields, is missing or invalid."""


class DataError(NasbenchError):
    """A data set is missing, corrupt or inconsistent."""


class StoreError(NasbenchError):
    """The results database cannot be reached or refused an operation."""


class UnknownName(ConfigError):
    """A name that no registry entry has (a block type, zoo model, sampler, proxy, data set, measure).

    The message is one sentence listing the valid names; ``field`` names the config field the
    name came from, when there is one.
    """

    def __init__(self, kind: str, name: object, choices: Iterable[str], field: str | None = None) -> None:
        self.kind, self.name, self.choices, self.field = kind, name, tuple(choices), field
        where = f"field '{field}': " if field else ""
        super().__init__(f"{where}unknown {kind} {name!r}; choose one of: {', '.join(self.choices)}.")

    def __reduce__(self) -> tuple[type[UnknownName], tuple[object, ...]]:
        # Rebuild from the parts (the default would call __init__ with the message alone), so the
        # error survives pickling across Ray workers.
        return type(self), (self.kind, self.name, self.choices, self.field)
