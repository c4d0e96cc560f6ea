"""One file per schema revision, applied in order (``0001`` is the schema of the first releases)."""
