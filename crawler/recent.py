"""Bounded memories of a run's own work, so that they stay flat however long the run:

- ``RecentKeys``: the keys added last, a cheap first check in front of a complete one (the
  spider's recently requested article URLs, before Scrapy's duplicate filter);
- ``RecentValues``: the entries used last; an entry it forgot is asked again of the store that
  holds it (the requisites' pointers, the WARC writer's read-back captures).
"""

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


class RecentKeys:
    """The last ``size`` keys added, the oldest forgotten first: memory stays flat however many come.
    A key already there is not refreshed by being added again (the order is the order of first adding)."""

    def __init__(self, size: int):
        self._keys: RecentValues[None] = RecentValues(size)

    @property
    def size(self) -> int:
        return self._keys.size

    def add(self, key: Hashable) -> bool:
        """Remember ``key``; False when it was already among the recent keys."""
        if key in self._keys:
            return False
        self._keys[key] = None
        return True
