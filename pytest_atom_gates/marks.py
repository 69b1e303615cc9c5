"""The closest marks of a few names per test, read once per collector: a module's or class's
marks are the same for each of its tests, and walking the node chain per test costs every test
of a large suite."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest
from _pytest.nodes import Node

Marks = Mapping[str, pytest.Mark]
"""The closest mark of each name read, as ``item.get_closest_marker`` gives it."""


class MarkIndex:
    """The closest marks of a few names, per test, without walking the node chain every time.

    Marks on modules and classes are read once per collector; a test adds its own.
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self._inherited: dict[pytest.Collector, dict[str, pytest.Mark]] = {}

    def marks(self, item: pytest.Item) -> Marks:
        parent = item.parent
        assert parent is not None  # every test has a collector above it
        inherited = self._inherited.get(parent)
        if inherited is None:
            inherited = self._inherited[parent] = self._collect(parent.listchain())
        if not item.own_markers:
            return inherited
        own = self._collect((item,))
        return {**inherited, **own} if own else inherited

    def _collect(self, chain: Iterable[Node]) -> dict[str, pytest.Mark]:
        found: dict[str, pytest.Mark] = {}
        for node in chain:  # from the session down: the closest node's mark wins
            for mark in reversed(node.own_markers):  # and of one node's marks, the first
                if mark.name in self.names:
                    found[mark.name] = mark
        return found
