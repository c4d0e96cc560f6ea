"""Data sets by name: ``load_dataset("digits")``. Loaders never download anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nasbench.core.registry import Registry
from nasbench.data.dataset import ArrayDataset

Loader = Callable[..., ArrayDataset]
_LOADERS: Registry[Loader] = Registry("data set")


def register_dataset(name: str) -> Callable[[Loader], Loader]:
    """Register a loader ``fn(**options) -> ArrayDataset`` under ``name``; duplicates refused."""
    return _LOADERS.register(name)


def dataset_names() -> list[str]:
    _import_loaders()
    return _LOADERS.names()


def loader(name: str) -> Loader:
    """The loader registered as ``name``; unknown names list the valid ones."""
    _import_loaders()
    return _LOADERS.get(name)


def load_dataset(name: str, **options: Any) -> ArrayDataset:
    """Load a registered data set; unknown names list the valid ones."""
    return loader(name)(**options)


def _import_loaders() -> None:
    # Importing the loader modules registers them; kept lazy so `import nasbench` stays light.
    from nasbench.data import loaders  # noqa: F401
