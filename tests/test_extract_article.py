"""Per-page extraction tests: each saved article page against its expected.json, one test per field."""

from __future__ import annotations

import pytest

from crawler.extract.article import parse_article
from crawler.extract.cleaning import clean_blocks
from crawler.items import ArticleItem
from tests.fixture_cases import REAL_BASE, load_cases

ARTICLES = load_cases("article")
FIELDS = ("id", "channel", "channel_name", "title", "published_at", "published_at_source", "source",
          "editor", "byline", "extractor", "images", "attachments")


def build_record(case) -> dict:
    """Extraction plus cleaning, as the spider and clean pipeline do it."""
    raw = parse_article(case.body, case.url, case.content_type, REAL_BASE + "/")
    assert raw.not_article_reason is None, raw.not_article_reason
    item = ArticleItem.from_raw(raw, "www.sichuanpeace.gov.cn")
    cleaned = clean_blocks(item.blocks)
    item.body, item.images, item.byline = cleaned.body, cleaned.images, cleaned.byline
    return item.record()


@pytest.fixture(scope="module")
def records() -> dict[str, dict]:
    return {case.name: build_record(case) for case in ARTICLES}


FIELD_PARAMS = [pytest.param(case, field, id=f"{case.name}-{field}")
                for case in ARTICLES for field in FIELDS if field in case.expected]


@pytest.mark.parametrize(("case", "field"), FIELD_PARAMS)
def test_field(records, case, field):
    assert records[case.name][field] == case.expected[field]


@pytest.mark.parametrize("case", ARTICLES, ids=lambda c: c.name)
def test_body_paragraphs(records, case):
    paragraphs = records[case.name]["body"].split("\n")
    expected = case.expected
    assert paragraphs[0] == expected["body_first"]
    assert paragraphs[-1] == expected["body_last"]
    for paragraph in expected.get("body_must_contain", []):
        assert paragraph in paragraphs
    for snippet in expected.get("body_must_not_contain", []):
        assert snippet not in records[case.name]["body"]


@pytest.mark.parametrize("case", ARTICLES, ids=lambda c: c.name)
def test_body_has_no_indentation_or_empty_lines(records, case):
    for paragraph in records[case.name]["body"].split("\n"):
        assert paragraph and paragraph == paragraph.strip(" \u3000\xa0")
        assert "\\r\\n" not in paragraph


@pytest.mark.parametrize("case", load_cases("soft404"), ids=lambda c: c.name)
def test_soft_404_is_not_an_article(case):
    raw = parse_article(case.body, case.url, case.content_type, REAL_BASE + "/")
    assert raw.not_article_reason == "soft 404"


def test_empty_page_is_not_an_article():
    raw = parse_article(b"", REAL_BASE + "/scyw/20240101/2900000.html")
    assert raw.not_article_reason == "empty page"


def test_page_without_body_is_not_an_article():
    html = "<html><head><title>标题_四川长安网</title></head><body><div>标题</div></body></html>"
    raw = parse_article(html, REAL_BASE + "/scyw/20240101/2900000.html")
    assert raw.not_article_reason == "empty body"


def test_legacy_page_decoded_by_meta_charset():
    case = next(c for c in ARTICLES if c.meta["path"].startswith("/system/"))
    raw = parse_article(case.body, case.url, "text/html", REAL_BASE + "/")
    assert raw.encoding_declared == "gb18030" and raw.encoding_used == "gb18030"
    assert "\ufffd" not in "".join(b.text for b in raw.blocks)


def test_gbk_page_mislabelled_utf8_header_is_decoded():
    case = next(c for c in ARTICLES if c.meta["path"].startswith("/system/"))
    raw = parse_article(case.body, case.url, "text/html; charset=utf-8", REAL_BASE + "/")
    assert raw.encoding_used == "gb18030"
    assert raw.title == case.expected["title"]


def test_unknown_template_uses_generic_fallback():
    """A template with no known class names still yields title, time and body."""
    html = """<html><head><title>某地召开会议_动态_四川长安网</title></head><body>
    <div class="zz1">首页</div><div class="q9"><span>某地召开会议</span></div>
    <div class="q8">2024-05-06 08:09:10 来源:某日报</div>
    <div class="q7"><span>第一段正文内容，足够长的一句话。</span><span><br>第二段正文内容，也足够长。</span></div>
    <div>编辑:张三</div><div>蜀ICP备13011412号-1 四川长安网版权所有</div></body></html>"""
    raw = parse_article(html, REAL_BASE + "/qxdt/20240506/2950000.html")
    cleaned = clean_blocks(raw.blocks)
    assert raw.extractor == "fallback"
    assert raw.title == "某地召开会议"
    assert raw.published_at == "2024-05-06T08:09:10+08:00"
    assert raw.source == "某日报" and raw.editor == "张三"
    assert cleaned.body == "第一段正文内容，足够长的一句话。\n第二段正文内容，也足够长。"
