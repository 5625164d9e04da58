"""The body container selectors (``selectors.BODY_SELECTORS``), all matched in one pass over the tree.

Each selector is a simple CSS selector: a tag, ``.class`` or ``#id``, or a tag with one of them.
Evaluated one by one, as XPath, each costs a walk of the whole tree in libxml2 (~20 µs on a freshly
parsed 75 KB page), and a page of an unknown template needs every one of them. Here lxml's C
iterator yields only the elements of the selectors' tags, once, and each is sorted to the
selectors it matches by its class tokens and id: ~45 µs for all of them, against ~150 µs
(BENCHMARKS.md, extraction).

A tagless ``#id`` is looked up in libxml2's id table: it finds the first element with that id, as a
browser's getElementById does (an id is unique in valid HTML). A tagless ``.class`` needs a walk
of every element, by XPath.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

# tag, tag.class, tag#id, .class or #id; nothing more (a descendant, a second class ...).
_SIMPLE_CSS_RE = re.compile(r"^(?P<tag>[a-z][a-z0-9]*)?(?:\.(?P<cls>[\w-]+)|#(?P<id>[\w-]+))?$")
# What XPath's normalize-space() splits a class attribute on: XML whitespace only.
_CLASS_SEPARATORS_RE = re.compile(r"[ \t\r\n]+")


@dataclass(frozen=True)
class SimpleSelector:
    """One simple CSS selector: an element's tag, and one class token or its id."""

    css: str
    tag: str | None = None
    cls: str | None = None
    id: str | None = None

    @classmethod
    def parse(cls, css: str) -> SimpleSelector:
        match = _SIMPLE_CSS_RE.match(css)
        if match is None or not css:
            raise ValueError(f"not a simple selector (tag, .class, #id, tag.class or tag#id): {css!r}")
        return cls(css, match["tag"], match["cls"], match["id"])

    def xpath_condition(self) -> str:
        """An XPath predicate true of exactly the elements this selector matches (as cssselect writes it)."""
        parts = [f"self::{self.tag}"] if self.tag else []
        if self.cls:
            parts.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {self.cls} ')")
        if self.id:
            parts.append(f"@id = '{self.id}'")
        return " and ".join(parts)

    def matches(self, element: etree._Element) -> bool:
        if self.tag and element.tag != self.tag:
            return False
        if self.cls and self.cls not in _CLASS_SEPARATORS_RE.split(element.get("class") or ""):
            return False
        return not self.id or element.get("id") == self.id


class ContainerSelectors:
    """Ordered (css, family) selectors; ``find`` gives each one's elements, in document order."""

    def __init__(self, selectors: tuple[tuple[str, str], ...]):
        self.selectors = tuple((SimpleSelector.parse(css), family) for css, family in selectors)
        # For the one pass over the tagged elements: which selectors each tag, class token and
        # id may satisfy (by position), checked in full by SimpleSelector.matches.
        self._tags = tuple(sorted({selector.tag for selector, _ in self.selectors if selector.tag}))
        self._by_token: dict[str, list[int]] = {}
        self._by_id: dict[str, list[int]] = {}
        self._by_tag: dict[str, list[int]] = {}
        self._tagless: dict[int, etree.XPath] = {}
        for index, (selector, _) in enumerate(self.selectors):
            if selector.tag is None:
                self._tagless[index] = etree.XPath(f"id('{selector.id}')" if selector.id
                                                   else f"descendant-or-self::*[{selector.xpath_condition()}]")
            elif selector.cls:
                self._by_token.setdefault(selector.cls, []).append(index)
            elif selector.id:
                self._by_id.setdefault(selector.id, []).append(index)
            else:
                self._by_tag.setdefault(selector.tag, []).append(index)
        # Any of the class tokens in a class attribute, as a substring: a quick test that passes
        # every element one of them matches (and a few more, which the exact test then drops).
        self._token_hint = re.compile("|".join(map(re.escape, sorted(self._by_token)))) if self._by_token else None

    @property
    def tags(self) -> frozenset[str]:
        """The tags of the selectors that have one: the elements ``sort`` is to be given."""
        return frozenset(self._tags)

    def start(self) -> list[list[etree._Element]]:
        """An empty list of elements per selector, for ``sort`` to fill."""
        return [[] for _ in self.selectors]

    def sort(self, element: etree._Element, tag: str, classes: str | None, element_id: str | None,
             found: list[list[etree._Element]]) -> None:
        """Add an element of one of ``tags`` (with its tag, class and id attributes, which the caller
        has read) to the selectors it matches."""
        candidates = self._by_tag.get(tag, ())
        if classes and self._token_hint is not None and self._token_hint.search(classes) is not None:
            candidates = [*candidates, *(index for token in _CLASS_SEPARATORS_RE.split(classes)
                                         for index in self._by_token.get(token, ()))]
        if element_id and element_id in self._by_id:
            candidates = [*candidates, *self._by_id[element_id]]
        for index in candidates:
            if self.selectors[index][0].matches(element) and element not in found[index]:
                found[index].append(element)

    def finish(self, tree: etree._Element, found: list[list[etree._Element]]
               ) -> list[tuple[list[etree._Element], str]]:
        """``find``'s answer from the elements ``sort`` was given (every element of ``tags`` in the
        tree, in document order): the tagless selectors are looked up here."""
        for index, xpath in self._tagless.items():
            found[index] = xpath(tree)
        return [(elements, family) for elements, (_, family) in zip(found, self.selectors, strict=True)]

    def find(self, tree: etree._Element) -> list[tuple[list[etree._Element], str]]:
        """For every selector, in order: the elements it matches, and the family it identifies."""
        found = self.start()
        for element in tree.iter(*self._tags) if self._tags else ():
            self.sort(element, element.tag, element.get("class"), element.get("id"), found)
        return self.finish(tree, found)
