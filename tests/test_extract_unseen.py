"""What markup nobody here wrote did to extraction (issue 12's causes), each as a small page.

Each test is one cause found on real pages: it failed before the change it names.
"""

from __future__ import annotations

import pytest

from crawler.extract import extract_record
from crawler.extract.article import parse_article
from crawler.extract.blocks import Block
from crawler.extract.cleaning import clean_blocks
from crawler.extract.urls import other_page_ref
from tests.fixture_server import CHALLENGE_PAGES

URL = "http://www.example.gov.cn/art/2024/5/13/art_1_123456.html"
PARAGRAPHS = ["第一段正文，讲述了政法队伍教育整顿的具体做法和成效，内容较长。",
              "第二段正文，继续介绍相关情况，并引用了有关负责人的讲话内容。"]


def page(body: str, head: str = "<title>标题文字在这里_中国政府网</title>") -> bytes:
    return f"<html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>".encode()


def article(extra_after: str = "", info: str = "2024-05-13 10:00 来源：人民日报") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"<h1>标题文字在这里</h1><div>{info}</div><div>{paragraphs}{extra_after}</div>"


def test_a_stray_html_end_tag_from_an_included_header_does_not_cut_the_article():
    header = "<div class='nav'><a href='/'>首页</a></div></body></html>\n" + "<!-- include -->" * 40
    record = extract_record(page(header + article()), URL)
    assert record is not None and record["body"] == "\n".join(PARAGRAPHS)


def test_a_body_the_parser_put_in_head_is_read():
    html = ("<script>var a=1;</script><html><head><title>标题文字在这里</title><style>.a{}</style>"
            "<sohu_cms_include></sohu_cms_include></head><body>" + article() + "</body></html>")
    record = extract_record(html.encode(), URL)
    assert record is not None and PARAGRAPHS[0] in record["body"]


@pytest.mark.parametrize("marker", ["<p>(责编：赵欣悦、杨光宇)</p>", "<p>[ 责编：李四 ]</p>", "<p>【纠错】</p>",
                                    "<p>【责任编辑:王五】</p>", "<div>阅读剩余全文</div>",
                                    "<p>人 民 网 版 权 所 有</p>"])
def test_end_markers_inside_short_lines_end_the_body(marker):
    tail = "<p>相关新闻：这一段不属于文章本身，是别的稿件的摘要内容而已。</p>"
    record = extract_record(page(article(marker + tail)), URL)
    assert record is not None and record["body"] == "\n".join(PARAGRAPHS), marker


def test_a_related_list_without_a_heading_ends_the_body():
    related = "".join(f"<li><a href='/a/{i}.html'>另一篇报道的标题文字第{i}条</a></li>" for i in range(5))
    record = extract_record(page(article(f"<ul>{related}</ul>")), URL)
    assert record is not None and record["body"] == "\n".join(PARAGRAPHS)


@pytest.mark.parametrize("line, editor", [("发布日期：2024-05-13 责任编辑：龙慧", "龙慧"),
                                          ("[作者: 张三 责任编辑: 李四 ]", "李四"),
                                          ("编辑/苏芳", "苏芳"), ("[责任编辑：杜智 PX209]", "杜智")])
def test_editor_is_read_inside_a_line_and_after_labels(line, editor):
    raw = parse_article(page(article(f"<p>{line}</p>")), URL)
    assert raw.editor == editor, line


@pytest.mark.parametrize("info, source", [("来源：人民日报2024-05-13 10:00", "人民日报"),
                                          ("2024-05-13 10:00 来源于：新华社", "新华社"),
                                          ("2024-05-13 10:00 来源：[ 人民网 ]", "人民网"),
                                          ("2024-05-13 10:00 光明网", "光明网")])
def test_source_stops_at_a_glued_date_and_reads_other_labels(info, source):
    raw = parse_article(page(article(info=info)), URL)
    assert raw.source == source, info


def test_a_source_quoted_in_the_body_is_not_the_info_line():
    body = ("<h1>标题文字在这里</h1><div>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
            + "<p>（来源：新华社 2023年12月30日）</p></div>")
    head = "<title>标题文字在这里</title><meta name='PubDate' content='2024-05-13 09:30'>"
    raw = parse_article(page(body, head=head), URL)
    assert raw.published_at == "2024-05-13T09:30:00+08:00" and raw.published_at_source == "meta"
    assert raw.source is None


def test_title_by_agreement_beats_a_column_header_and_any_suffix():
    body = "<div class='title'>新闻动态</div>" + article()
    head = "<title>标题文字在这里__2007年第23号国务院公报_中国政府网</title>"
    assert parse_article(page(body, head), URL).title == "标题文字在这里"
    head = "<meta property='og:title' content='标题文字在这里'><title>新闻动态--某学会官网</title>"
    assert parse_article(page(body.replace("<h1>标题文字在这里</h1>", "<h2>标题文字在这里</h2>"), head), URL).title \
        == "标题文字在这里"


def test_a_removed_line_or_a_sub_heading_after_an_image_is_not_a_caption():
    blocks = [Block(src="http://x/a.jpg"), Block("分享到：微信 微博"), Block("这一段是正文，不是图片说明")]
    cleaned = clean_blocks(blocks)
    assert cleaned.images[0]["caption"] is None and cleaned.body == "这一段是正文，不是图片说明"
    blocks = [Block(src="http://x/a.jpg"), Block("坚持改革创新", strong_chars=6), Block("正文段落。")]
    cleaned = clean_blocks(blocks)
    assert cleaned.images[0]["caption"] is None and cleaned.body.startswith("坚持改革创新")


def test_urls_of_another_shape_get_an_id_and_need_a_shown_time():
    assert other_page_ref("http://h.cn/show.php?id=98765", "http://h.cn/").id.startswith("u")
    hashed = other_page_ref("http://h.cn/news/abc.html", "http://h.cn/")
    assert hashed.id.startswith("u") and len(hashed.id) == 17 and hashed.shape == "other"
    assert hashed.id == other_page_ref("http://h.cn/news/abc.html", "http://h.cn/").id
    undated = page(article(info="来源：人民日报"))
    assert extract_record(undated, "http://h.cn/news/abc.html") is None  # no time shown, none in the URL
    assert extract_record(undated, URL)["published_at"] == "2024-05-13T00:00:00+08:00"  # the URL's date


def test_a_page_the_parser_still_cuts_short_is_not_read(monkeypatch):
    from crawler.extract import page as page_module
    html = page(article() + "".join(f"<p>第{i}段。</p>" for i in range(30)))
    real_parse = page_module.etree.fromstring

    def cut_short(source, parser):  # the parser giving up after the first paragraphs
        tree = real_parse(source, parser)
        for paragraph in list(tree.iter("p"))[3:]:
            paragraph.getparent().remove(paragraph)
        return tree

    monkeypatch.setattr(page_module.etree, "fromstring", cut_short)
    raw = parse_article(html, URL)
    assert (raw.not_article_reason or "").startswith("unparsable HTML: truncated parse: 3 of 32")
    assert extract_record(html, URL) is None


@pytest.mark.parametrize("kind", sorted(CHALLENGE_PAGES))
def test_the_one_page_api_refuses_a_challenge_page_as_the_crawl_does(kind):
    assert extract_record(CHALLENGE_PAGES[kind], URL) is None, kind


def test_the_one_page_command_refuses_a_challenge_page_as_the_crawl_does(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    saved = tmp_path / "busy.html"
    saved.write_bytes(CHALLENGE_PAGES["busy"])
    printed = subprocess.run([sys.executable, "-m", "crawler.extract", str(saved), "--url", URL],
                             capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert printed.returncode == 1 and "challenge page" in printed.stderr


def test_without_title_or_info_line_the_run_of_most_prose_is_the_body():
    nav = "".join(f"<li><a href='/c{i}/'>栏目{i}</a></li>" for i in range(8))
    side = "".join(f"<p><a href='/x/{i}.html'>别的稿件标题第{i}条</a></p>" for i in range(4))
    html = (f"<html><head><meta charset='utf-8'><meta name='PubDate' content='2024-05-13 09:30'></head>"
            f"<body><ul>{nav}</ul><div>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}</div>{side}</body></html>")
    raw = parse_article(html.encode(), URL)
    assert [b.line for b in raw.blocks] == PARAGRAPHS
