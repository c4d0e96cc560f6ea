"""One registry helper for every ``name -> object`` table (blocks, zoo models, samplers, proxies,
data sets, measures): a plain dict inside, duplicates refused, unknown names answered with one
error that lists the valid ones."""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, ValuesView
from typing import Generic, TypeVar, overload

from nasbench.errors import UnknownName

T = TypeVar("T")
_MISSING = object()


class Registry(Generic[T]):
    """Objects of one kind by name, in registration order.

    ``kind`` is what the names name, as it reads in a message ("zoo model", "data set").
    Iteration, ``values()`` and ``items()`` follow registration order; ``names()`` is sorted.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, obj: T) -> T: ...

    def register(self, name: str, obj: object = _MISSING) -> object:
        """Add ``obj`` under ``name`` and return it; without ``obj``, a decorator that does so.

        A name already taken raises ValueError (registering twice is a programming error).
        """
        if obj is _MISSING:

            def decorate(target: T) -> T:
                return self.register(name, target)

            return decorate
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj  # type: ignore[assignment]  # obj is a T here (overloads)
        return obj

    def get(self, name: str, *, field: str | None = None) -> T:
        """The object registered as ``name``; else UnknownName listing the valid names.

        ``field`` names the config field ``name`` was read from, for the message.
        """
        try:
            return self._entries[name]
        except (KeyError, TypeError):  # TypeError: an unhashable value read from a file
            raise UnknownName(self.kind, name, self.names(), field=field) from None

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._entries)

    def values(self) -> ValuesView[T]:
        return self._entries.values()

    def items(self) -> ItemsView[str, T]:
        return self._entries.items()

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._entries
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
