"""Body container selectors matched in one pass (crawler/extract/containers.py) find what CSS finds."""

from __future__ import annotations

import random

import pytest
from cssselect import HTMLTranslator
from lxml import etree

from crawler.extract.article import _holds_text
from crawler.extract.containers import ContainerSelectors, SimpleSelector
from crawler.extract.page import element_text, load_page
from crawler.rules import selectors as S

from .fixture_cases import load_cases

MARKUPS = [
    # Several templates' containers in one page, nested, with odd class spacing and repeats.
    "<html><body><div class='TRS_Editor  main'><div class='content'>a</div></div>"
    "<table><tr><td class='black14'>b</td><td class='black14x'>no</td></tr></table>"
    "<div id='content' class='xl_con'>c</div><div class='article-content\tcontent'>d</div>"
    "<article><section class='content'>no: a section</section></article><div class='contents'>no</div>"
    "<span id='zoom'>e</span></body></html>",
    "<html><body><div class='Content'>no: case matters</div><div class='content content'>f</div></body></html>",
    "<html><body><p>no container at all</p></body></html>",
]


def css_matches(tree: etree._Element) -> list[list[etree._Element]]:
    """What each BODY_SELECTORS entry matches, evaluated one by one by cssselect's XPath."""
    return [etree.XPath(HTMLTranslator().css_to_xpath(css))(tree) for css, _ in S.BODY_SELECTORS]


@pytest.mark.parametrize("markup", MARKUPS)
def test_one_pass_finds_what_each_css_selector_finds(markup):
    tree = load_page(markup.encode("utf-8"), "text/html; charset=utf-8").tree
    found = ContainerSelectors(S.BODY_SELECTORS).find(tree)
    assert [family for _, family in found] == [family for _, family in S.BODY_SELECTORS]
    assert [elements for elements, _ in found] == css_matches(tree)


def test_one_pass_agrees_with_css_on_every_fixture_page():
    selectors = ContainerSelectors(S.BODY_SELECTORS)
    pages = 0
    for case in load_cases():
        tree = load_page(case.body, case.content_type).tree
        if tree is None:
            continue
        pages += 1
        assert [elements for elements, _ in selectors.find(tree)] == css_matches(tree), case.name
    assert pages >= 10


def test_a_tagless_id_finds_the_first_element_with_it():
    # As getElementById does: an id is unique in valid HTML, and libxml2 indexes the first.
    tree = load_page(b"<html><body><div id='zoom'>a</div><td id='zoom'>b</td></body></html>", None).tree
    [(elements, _)] = ContainerSelectors((("#zoom", "current"),)).find(tree)
    assert [e.text for e in elements] == ["a"]


def test_a_tagless_class_is_found_on_any_tag():
    tree = load_page(b"<html><body><p class='x y'>a</p><div class='y'>b</div></body></html>", None).tree
    [(elements, _)] = ContainerSelectors(((".y", "current"),)).find(tree)
    assert [e.text for e in elements] == ["a", "b"]


@pytest.mark.parametrize("css", ["div p", "div.a.b", "div > p", "td.black14 div", "[id=x]", ""])
def test_anything_but_a_simple_selector_is_refused(css):
    with pytest.raises(ValueError, match="simple selector"):
        SimpleSelector.parse(css)


def test_holds_text_counts_as_the_stripped_whole_text_would():
    # The marking reads a container's text piece by piece and stops early; it must answer what
    # len(string(.).strip()) >= n answers, whatever the spaces between and around the pieces.
    pieces = [" ", "\u3000", "ab", "  x ", "\n\t", "长文本", "", "\xa0\xa0", "y"]
    chooser = random.Random(5)
    for _ in range(2000):
        parts = [chooser.choice(pieces) for _ in range(chooser.randint(0, 12))]
        html = "<div>" + "".join(f"<span>{p}</span>{p}" for p in parts) + "</div>"
        tree = load_page(html.encode("utf-8"), "text/html; charset=utf-8").tree
        assert tree is not None
        element = tree.find(".//div")
        for needed in (1, 3, 5, 20):
            assert _holds_text(element, needed) == (len(element_text(element).strip()) >= needed), (parts, needed)
