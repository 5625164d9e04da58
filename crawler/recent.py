"""A bounded mapping of the entries used last: what a run remembers of its own work stays flat,
however long the run, and an entry it forgot is asked again of the store that holds it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class RecentValues(Generic[V]):
    """The last ``size`` entries set or read; the one unused longest is forgotten first."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.size = size
        self._values: OrderedDict[Hashable, V] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: Hashable, default: V | None = None) -> V | None:
        """The value of ``key`` (now the most recently used), or ``default``."""
        if key not in self._values:
            return default
        self._values.move_to_end(key)
        return self._values[key]

    def __getitem__(self, key: Hashable) -> V:
        self._values.move_to_end(key)
        return self._values[key]

    def __setitem__(self, key: Hashable, value: V) -> None:
        self._values[key] = value
        self._values.move_to_end(key)
        if len(self._values) > self.size:
            self._values.popitem(last=False)

    def pop(self, key: Hashable) -> V | None:
        """Forget ``key``; its value, or None."""
        return self._values.pop(key, None)
