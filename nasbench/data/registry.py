"""Data sets by name: ``load_dataset("digits")``. Loaders never download anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nasbench.data.dataset import ArrayDataset
from nasbench.errors import ConfigError

Loader = Callable[..., ArrayDataset]
_LOADERS: dict[str, Loader] = {}


def register_dataset(name: str) -> Callable[[Loader], Loader]:
    """Register a loader ``fn(**options) -> ArrayDataset`` under ``name``; duplicates refused."""

    def deco(fn: Loader) -> Loader:
        if name in _LOADERS:
            raise ValueError(f"data set {name!r} is already registered")
        _LOADERS[name] = fn
        return fn

    return deco


def dataset_names() -> list[str]:
    _import_loaders()
    return sorted(_LOADERS)


def loader(name: str) -> Loader:
    """The loader registered as ``name``; unknown names list the valid ones."""
    _import_loaders()
    if name not in _LOADERS:
        raise ConfigError(f"unknown data set {name!r}; choose one of: {', '.join(sorted(_LOADERS))}.")
    return _LOADERS[name]


def load_dataset(name: str, **options: Any) -> ArrayDataset:
    """Load a registered data set; unknown names list the valid ones."""
    return loader(name)(**options)


def _import_loaders() -> None:
    # Importing the loader modules registers them; kept lazy so `import nasbench` stays light.
    from nasbench.data import loaders  # noqa: F401
