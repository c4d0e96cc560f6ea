"""The errors nasbench raises for bad input: one sentence naming the file, field or value."""


class NasbenchError(ValueError):
    """A user-facing error; the CLI prints its message and exits non-zero."""


class ConfigError(NasbenchError):
    """A study or space file, or one of its fields, is missing or invalid."""


class DataError(NasbenchError):
    """A data set is missing, corrupt or inconsistent."""


class StoreError(NasbenchError):
    """The results database cannot be reached or refused an operation."""
