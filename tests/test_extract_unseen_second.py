"""What markup nobody here wrote did to extraction, second pass (issue 22's causes), each as a small page.

Each test is one cause found on real pages (described in the issue, not given): it failed before
the change it names.
"""

from __future__ import annotations

import pytest

from crawler.extract import extract_record
from crawler.extract.article import parse_article
from tests.test_extract_unseen import PARAGRAPHS, URL, article, page

BODY = "\n".join(PARAGRAPHS)


# --- 1. Editors written as staff codes ---------------------------------------------------------

@pytest.mark.parametrize(("line", "editor"), [
    ("责任编辑：NF041", "NF041"),
    ("责任编辑：NF041_NF5619", "NF041_NF5619"),
    ("（责任编辑：PN269）", "PN269"),
    ("[责任编辑：杜智 PX209]", "杜智"),  # a name beside the code: the name, as before
])
def test_an_editor_written_as_a_staff_code_is_the_code(line, editor):
    record = extract_record(page(article(f"<p>{line}</p>")), URL)
    assert record is not None and record["editor"] == editor and record["body"] == BODY


# --- 3. A "last updated" line under the info line ---------------------------------------------

@pytest.mark.parametrize("line", ["最后更新: 2019-09-07 15:14:21", "更新时间：2019-09-07 15:14:21",
                                  "修改时间：2019年09月07日 15:14:21"])
def test_a_last_updated_line_is_read_into_updated_at_not_the_body(line):
    html = (f"<h1>标题文字在这里</h1><div>2019-09-06 10:00 来源：人民日报</div><div>{line}</div>"
            + "".join(f"<p>{p}</p>" for p in PARAGRAPHS))
    record = extract_record(page(html), URL)
    assert record is not None
    assert record["published_at"] == "2019-09-06T10:00:00+08:00"
    assert record["updated_at"] == "2019-09-07T15:14:21+08:00"
    assert record["body"] == BODY


def test_a_page_that_only_shows_a_new_updated_time_is_the_same_revision():
    def shown(updated: str) -> dict:
        html = (f"<h1>标题文字在这里</h1><div>2019-09-06 10:00 来源：人民日报 最后更新: {updated}</div>"
                + "".join(f"<p>{p}</p>" for p in PARAGRAPHS))
        record = extract_record(page(html), URL)
        assert record is not None
        return record
    first, second = shown("2019-09-07 15:14:21"), shown("2019-09-08 09:00:00")
    assert (first["updated_at"], second["updated_at"]) == ("2019-09-07T15:14:21+08:00", "2019-09-08T09:00:00+08:00")
    assert first["content_sha256"] == second["content_sha256"]
    assert first["published_at"] == "2019-09-06T10:00:00+08:00"


# --- 7. A hidden block taken as the whole body --------------------------------------------------

ELEVEN = [f"第{i}段正文，记者从有关部门获悉，这项工作在全省范围内稳步推进，取得了阶段性成效，群众反映良好。"
          for i in range(1, 12)]


@pytest.mark.parametrize("hiding", ['style="display:none"', 'style="DISPLAY: none;"', "hidden",
                                    'aria-hidden="true"', 'style="visibility:hidden"'])
def test_a_hidden_share_preview_block_is_not_the_body(hiding):
    preview = f"<div {hiding}><h1>标题文字在这里</h1><p>{ELEVEN[0]}</p></div>"
    content = ("<div class='main'><div class='hd'><h2>标题文字在这里</h2>"
               "<span>2024-05-13 10:00 来源：人民日报</span></div><div class='bd'>"
               + "".join(f"<p>{p}</p>" for p in ELEVEN) + "</div></div>")
    record = extract_record(page(preview + content), URL)
    assert record is not None and record["body"] == "\n".join(ELEVEN)


# The body ends at a share bar after one paragraph; the rest of the page's prose follows it.
CUT_SHORT = ("<h1>标题文字在这里</h1><div>2024-05-13 10:00 来源：人民日报</div><p>" + PARAGRAPHS[0]
             + "</p><p>分享到：</p>" + "".join(f"<p>{p}</p>" for p in ELEVEN))


def test_a_body_much_shorter_than_the_page_s_main_prose_is_flagged_never_passed_silently():
    assert parse_article(page(CUT_SHORT), URL).quality_flags == ["short_body"]
    assert parse_article(page(article()), URL).quality_flags == []


def test_the_quality_summary_counts_flagged_articles():
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.test import get_crawler

    from crawler.quality import record_quality, summarize
    stats = MemoryStatsCollector(get_crawler())
    record_quality(stats, parse_article(page(CUT_SHORT), URL))
    record_quality(stats, parse_article(page(article()), URL))
    assert summarize(stats.get_stats())["flags"] == {"short_body": 1}


# --- 9. An advertising box of links in the middle of the body -----------------------------------

AD_BOX = "".join(f"<div>·</div><div><a href='http://ad.example.com/{i}'>{text}</a></div>"
                 for i, text in enumerate(["医疗关注--前列腺新发现", "皮肤顽疾----康复圣地",
                                           "国际认证：专治口臭、溃疡"]))
MORE = ["第三段正文，在广告框之后继续讲述，内容与前文紧密相连，篇幅也足够长，是一段完整的文章段落。",
        "第四段正文，进一步说明了有关部门的做法，并介绍了下一步的工作安排，同样是文章本身的内容。"]


def test_an_advertising_box_inside_the_body_does_not_end_it():
    html = (f"<h1>标题文字在这里</h1><div>2024-05-13 10:00 来源：人民日报</div><div><p>{PARAGRAPHS[0]}</p>{AD_BOX}"
            + "".join(f"<p>{p}</p>" for p in MORE) + "</div>")
    record = extract_record(page(html), URL)
    assert record is not None and record["body"] == "\n".join([PARAGRAPHS[0], *MORE])


def test_a_related_list_at_the_end_still_ends_the_body():
    related = "".join(f"<li><a href='/a/{i}.html'>另一篇报道的标题文字第{i}条</a></li>" for i in range(4))
    teaser = "<p><b>热点专题</b></p><p>" + MORE[0] + "</p><p>" + MORE[1] + "</p>"
    record = extract_record(page(article(f"<ul>{related}</ul>{teaser}")), URL)
    assert record is not None and record["body"] == BODY


# --- 6. Deeply nested markup ----------------------------------------------------------------------

@pytest.mark.parametrize("depth", [300, 450, 1500, 3000])
def test_a_page_nested_past_the_parser_s_depth_limit_is_read(depth):
    html = page("<div class='wrap'><span>" * depth + article() + "</span></div>" * depth)
    record = extract_record(html, URL)
    assert record is not None and record["body"] == BODY
    assert record["title"] == "标题文字在这里" and record["published_at"] == "2024-05-13T10:00:00+08:00"


def test_a_page_that_cannot_be_flattened_is_not_read_and_says_why():
    raw = parse_article(page("<q>" * 400 + article() + "</q>" * 400), URL)
    assert raw.not_article_reason == "unparsable HTML: nested past the parser's depth limit"


# --- 8. Share and recommendation widgets at the body's edges; a dateline opening the text --------

RECOMMENDED = "<p>精彩视频推荐</p><p>另一条视频的标题文字，与本文无关的推荐内容而已。</p>"


@pytest.mark.parametrize("head", ["<p><a href='#'>转播到腾讯微博</a></p>", "<div>转播到腾讯微博</div>"])
def test_share_and_recommendation_widgets_at_the_edges_are_not_body(head):
    html = ("<h1>标题文字在这里</h1><div>2024-05-13 10:00 来源：人民日报</div><div>" + head
            + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + RECOMMENDED + "</div>")
    record = extract_record(page(html), URL)
    assert record is not None and record["body"] == BODY


@pytest.mark.parametrize("widget", ["<p><a href='#'>转播到腾讯微博</a></p>", "<div>分享到：<a href='#'>微信</a></div>"])
def test_a_dateline_opening_the_text_is_its_first_paragraph(widget):
    html = ("<h1>标题文字在这里</h1><div>2024-05-13 10:00 来源：人民日报</div><div><p>TNW中文站 10月14日报道</p>"
            + widget + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>")
    record = extract_record(page(html), URL)
    assert record is not None and record["body"] == "TNW中文站 10月14日报道\n" + BODY


# --- 2. A promotional headline or teaser link just above the first paragraph ---------------------

@pytest.mark.parametrize("teaser", ["<p><a href='/zt/1.html'><strong>专题：代表委员热议政法工作</strong></a></p>",
                                    "<p><b><a href='/zt/2.html'>点击阅读：两会特别报道</a></b></p>",
                                    "<p><a href='/zt/3.html'>“平安四川建设进行时，一起来看”</a></p>",
                                    "<div><a href='/zt/4.html'>【政法之声：本期节目精彩回顾】</a></div>"])
def test_a_teaser_link_above_the_first_paragraph_is_not_body(teaser):
    html = ("<h1>标题文字在这里</h1><div>2024-05-13 10:00 来源：人民日报</div><div class='content'>" + teaser
            + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>")
    record = extract_record(page(html), URL)
    assert record is not None and record["body"] == BODY


def test_a_link_inside_the_text_stays():
    linked = "<p><a href='/a/1.html'>“第二段正文，继续介绍相关情况，并引用了有关负责人的讲话内容。”</a></p>"
    html = ("<h1>标题文字在这里</h1><div>2024-05-13 10:00 来源：人民日报</div><div class='content'>"
            f"<p>{PARAGRAPHS[0]}</p>{linked}</div>")
    record = extract_record(page(html), URL)
    assert record is not None and record["body"].count("\n") == 1


# --- 4. A plain sub-heading right after an image is not its caption ------------------------------

IMAGE = "<img src='/pic/a.jpg'>"


@pytest.mark.parametrize(("markup", "caption"), [
    (f"<p>{IMAGE}</p><p>座谈会上的新变化</p>", None),                                  # a plain line: the next section
    (f"<div>{IMAGE}</div><div>座谈会上的新变化</div>", None),
    # the image centred, not the line
    (f"<p style='text-align:center'>{IMAGE}</p><p>座谈会上的新变化</p>", None),
    (f"<p style='text-align:center'>{IMAGE}</p><p style='text-align: center;'>图为座谈会现场</p>", "图为座谈会现场"),
    (f"<p align='center'>{IMAGE}</p><p align='center'>图为座谈会现场</p>", "图为座谈会现场"),
    (f"<p>{IMAGE}<br>图为座谈会现场</p>", "图为座谈会现场"),                             # in the image's own block
    (f"<figure>{IMAGE}<figcaption>图为座谈会现场</figcaption></figure>", "图为座谈会现场"),
    (f"<div>{IMAGE}</div><p><small>图为座谈会现场</small></p>", "图为座谈会现场"),        # small
    (f"<div>{IMAGE}</div><p><font size='2'>图为座谈会现场</font></p>", "图为座谈会现场"),
])
def test_a_caption_sits_with_its_image_and_a_plain_sub_heading_after_it_is_not_one(markup, caption):
    html = ("<h1>标题文字在这里</h1><div>2024-05-13 10:00 来源：人民日报</div><div class='content'>"
            f"<p>{PARAGRAPHS[0]}</p>{markup}<p>{PARAGRAPHS[1]}</p></div>")
    record = extract_record(page(html), URL)
    assert record is not None and record["images"][0]["caption"] == caption
    lines = record["body"].split("\n")
    assert lines == ([PARAGRAPHS[0], "座谈会上的新变化", PARAGRAPHS[1]] if caption is None else PARAGRAPHS)


# --- 5. Day-first dates -------------------------------------------------------------------------

DATED_URL = "http://www.example.com/news/2022/0206/c123.html"


@pytest.mark.parametrize(("info", "others", "url", "published_at", "source"), [
    ("13/02/2022 10:30 来源：新华社", "", URL, "2022-02-13T10:30:00+08:00", "page"),           # the day is above 12
    # undecided, no URL date
    ("06-02-2022 10:30 来源：新华社", "", "http://www.example.com/news/c123.html", None, None),
    # the site's dates
    ("06/02/2022 来源：新华社", "<li>上一篇 25/01/2022</li>", URL, "2022-02-06T00:00:00+08:00", "page"),
    # month first there
    ("02/06/2022 来源：新华社", "<li>01/25/2022</li>", URL, "2022-02-06T00:00:00+08:00", "page"),
    # undecided: the URL's date
    ("06/02/2022 10:30 来源：新华社", "", DATED_URL, "2022-02-06T00:00:00+08:00", "url"),
])
def test_a_year_last_date_is_read_where_its_order_is_decided(info, others, url, published_at, source):
    html = (f"<h1>标题文字在这里</h1><div>{info}</div><div>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
            + f"</div><ul>{others}</ul>")
    raw = parse_article(page(html), url)
    assert (raw.published_at, raw.published_at_source) == (published_at, source)
    if published_at is not None:
        record = extract_record(page(html), url)
        assert record is not None and record["body"] == BODY  # the info line is not body
