"""Inputs a review found mishandled: real content that must survive extraction and cleaning."""

from __future__ import annotations

import pytest

from crawler.extract.article import parse_article
from crawler.extract.blocks import Block
from crawler.extract.cleaning import clean_blocks
from crawler.extract.encoding import looks_like_mojibake
from crawler.extract.urls import article_ref

URL = "https://www.sichuanpeace.gov.cn/scyw/20240101/2900000.html"
INFO = "www.sichuanpeace.gov.cn 】 【 2024-01-01 10:00:00 】 【 来源:四川法治报"


def page(body: str, title: str = "标题测试文章", head: str = "") -> str:
    return (f"<html><head><title>{title}_四川长安网</title></head><body>{head}<h1 class='title'>{title}</h1>"
            f"<div class='info'>{INFO}</div>{body}<div>编辑:张三</div></body></html>")


def body_of(html: str) -> list[str]:
    raw = parse_article(html, URL)
    return clean_blocks(raw.blocks).body.split("\n")


def test_paragraph_starting_with_close_does_not_end_the_body():
    paragraphs = ["全省开展专项整治行动，取得明显成效。", "关闭违规网站120家，约谈平台企业30家。",
                  "下一步，将持续加强网络生态治理。"]
    html = page("<div class='TRS_Editor'>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</div>")
    assert body_of(html) == paragraphs


def test_legacy_body_split_into_sibling_divs_is_kept_whole():
    html = page("<table><tr><td class='black14'><div>第一段内容，足够长的一句话。</div>"
                "<div>第二段内容，足够长的一句话。</div><div>第三段内容，足够长的一句话。</div></td></tr></table>")
    assert body_of(html) == ["第一段内容，足够长的一句话。", "第二段内容，足够长的一句话。",
                             "第三段内容，足够长的一句话。"]


def test_paragraph_quoting_a_date_and_time_keeps_what_precedes_it():
    paragraphs = ["记者从省公安厅获悉一起案件的侦破经过。", "2023年3月15日10时30分许，成都市公安局接到群众报警。",
                  "民警迅速出警。", "嫌疑人被抓获。", "案件正在进一步审理中。"]
    html = page("<div id='content'>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</div>")
    assert body_of(html) == paragraphs


@pytest.mark.parametrize("sentence", [
    "【以案说法】2023年5月1日起，新修订的《反电信网络诈骗法》正式施行。",
    "会议时间：2023年5月10日上午9:00，地点另行通知。",
    "发布时间为2023年5月10日的通告已经失效。",
    "来源：最高人民法院公报，2023年第5期",
    "著作权法规定，版权所有人享有复制权、发行权等权利。",
    "该网站未进行ICP备案，警方依法将其关停。",
    "分享到朋友圈的内容也可能构成诽谤，需依法承担责任。",
])
def test_cleaning_keeps_real_sentences(sentence):
    assert clean_blocks([Block(text=sentence)]).body == sentence


def test_heading_right_after_an_image_is_not_its_caption():
    cleaned = clean_blocks([Block(src="https://h/a.jpg"), Block(text="一、提高政治站位"),
                            Block(text="会议要求，全面落实责任。")])
    assert cleaned.images == [{"url": "https://h/a.jpg", "caption": None}]
    assert cleaned.body == "一、提高政治站位\n会议要求，全面落实责任。"


def test_site_logo_h1_is_not_the_title():
    html = ("<html><head><title>某地召开会议_四川长安网</title></head><body><h1>四川长安网</h1>"
            "<div class='x'>某地召开会议</div><div>2024-01-01 10:00:00 来源:某日报</div>"
            "<div><p>第一段正文内容，足够长的一句话。</p></div></body></html>")
    assert parse_article(html, URL).title == "某地召开会议"


def test_masked_id_numbers_are_not_mojibake():
    assert not looks_like_mojibake("被告人张某，身份证号5101××××××××1234，住××市××区××路")


def test_shtml_articles_keep_their_extension():
    ref = article_ref("https://www.chengdupeace.gov.cn/qxdt/20240101/3000001.shtml", URL)
    assert ref is not None and ref.url.endswith(".shtml")


def test_first_body_container_holding_only_script_text_gives_way_to_the_next_selector():
    # The selector search stops at the first container with text; here that text is a script's,
    # so the body must still come from the next selector that matches (div.TRS_Editor).
    paragraphs = ["全省政法机关深入推进平安四川建设。", "会议强调，要把防范化解风险摆在突出位置。"]
    html = page("<table><tr><td class='black14'><script>var share = 'weixin weibo qq zone copy link';</script>"
                "</td></tr></table><div class='TRS_Editor'>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</div>")
    raw = parse_article(html, URL)
    assert raw.extractor == "current"
    assert clean_blocks(raw.blocks).body.split("\n") == paragraphs


@pytest.mark.parametrize(("html", "expected"), [
    ("<html><head><title>一</title></head><body><svg><title>二</title></svg></body></html>", "一"),
    ("<html><head><meta charset=utf-8></head><body><p>x</p><svg><title>二</title></svg><title>三</title></body>"
     "</html>", "二"),
    ("<html><head><noscript><title>四</title></noscript><title>五</title></head><body></body></html>", "四"),
    ("<html><head></head><body><p>没有标题</p></body></html>", None),
])
def test_first_element_is_the_first_in_document_order(html: str, expected: str | None) -> None:
    """``first_element`` answers as ``tree.find(".//title")`` does, without walking past the <head>."""
    from crawler.extract.page import first_element, load_page
    tree = load_page(html).tree
    assert tree is not None
    found = first_element(tree, "title")
    assert (found.text if found is not None else None) == expected
    assert found is tree.find(".//title")  # lxml hands out one proxy per node while it lives


def test_element_text_is_the_xpath_string_of_every_element() -> None:
    """``element_text`` reads a leaf's ``text`` directly: the same text as XPath's string() gives,
    for every element of the real and fixture pages, and of elements holding comments and CDATA."""
    from pathlib import Path

    from lxml import etree

    from crawler.extract.page import element_text, load_page
    string = etree.XPath("string()")
    root = Path(__file__).parent
    paths = [*sorted((root / "realpages" / "pages").glob("*.html")), *sorted(root.glob("fixtures/*/page.html"))]
    trees = [load_page(path.read_bytes()).tree for path in paths]
    trees.append(etree.fromstring("<div><a>一<!-- 注释 -->二</a><b><![CDATA[三]]>四</b><i></i><p>&amp;五</p></div>",
                                  etree.XMLParser()))
    checked = 0
    for tree in trees:
        for element in tree.iter(etree.Element) if tree is not None else ():
            assert element_text(element) == str(string(element)), etree.tostring(element)[:200]
            checked += 1
    assert checked > 10_000


@pytest.mark.parametrize(("attributes", "hidden"), [
    ("", False), ("class='x'", False), ("hidden", True), ("hidden=''", True), ("aria-hidden='true'", True),
    ("aria-hidden='false'", False), ("style='display:none'", True), ("style='color:red' id='none'", False),
    ("class='hidden' style='visibility: hidden;'", True), ("style='font: none'", False),
])
def test_is_hidden_reads_the_attributes_the_element_has(attributes: str, hidden: bool) -> None:
    """``is_hidden`` asks only for the attributes in the element's ``keys()``: the same answers."""
    from lxml import etree

    from crawler.extract.blocks import is_hidden
    from crawler.extract.page import HTML_PARSER
    element = etree.fromstring(f"<html><body><div {attributes}>文字</div></body></html>", HTML_PARSER)[0][0]
    assert is_hidden(element, element.keys()) is hidden
