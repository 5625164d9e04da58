"""Boilerplate rules: each named rule removes what it is for and counts it; content survives."""

from __future__ import annotations

import pytest

from crawler.extract.blocks import Block
from crawler.extract.cleaning import clean_blocks

CONTENT = "政法队伍教育整顿开展期间，遂宁市直面问题核心、直击病源深处。"


@pytest.mark.parametrize(("line", "rule"), [
    ("您的位置:首页 > 四川要闻 >", "breadcrumb"),
    ("www.sichuanpeace.gov.cn 】 【 2021-11-03 10:00:08 】 【 来源:四川法治报", "info_line"),
    ("2019-03-19 09:43:41 来源:四川法治报", "info_line"),
    ("2017年06月05日 09:12  来源：四川日报", "info_line"),
    ("编辑:廖安泰", "editor_line"),
    ("责任编辑：王五", "editor_line"),
    ("上一篇：某某文章", "prev_next"),
    ("分享到： 微信 微博", "share_bar"),
    ("【打印】【关闭】", "share_bar"),
    ("四川长安网简介 | 版权声明 | 网站地图 | 联系我们 | 网站栏目 | 投稿须知 | 投稿:sccaw@sina.com |", "footer"),
    ("蜀ICP备13011412号 中国共产党四川省委员会政法委员会 版权所有 未经书面授权 不得复制或建立镜像违者必究", "icp_line"),
    ("四川长安网版权所有 未经书面授权 不得复制或建立镜像违者必究", "copyright"),
    ("9288ddce26e586400c70a19f9c549e74.jpeg", "image_filename"),
    ("ce9fdcb9-4e5d-4118-93cc-a7e6b0700867.png", "image_filename"),
    ("\u3000\u3000\xa0", "empty_paragraph"),
])
def test_rule_removes_and_counts(line, rule):
    cleaned = clean_blocks([Block(text=line), Block(text=CONTENT)])
    assert cleaned.body == CONTENT
    assert cleaned.removed[rule] == 1


def test_text_fixes():
    cleaned = clean_blocks([Block(text="\u3000\u3000第一句。\\r\\n第二句。\\r\\n\xa0")])
    assert cleaned.body == "第一句。第二句。"
    assert cleaned.removed["literal_crlf"] == 1 and cleaned.removed["indentation"] == 1


def test_long_paragraph_mentioning_copyright_is_kept():
    text = ("法院审理认为，被告未经许可复制他人作品，" + "侵犯了原告依法享有的著作权，" * 8
            + "作品版权所有人有权获得赔偿。")
    assert clean_blocks([Block(text=text)]).body == text


def test_caption_follows_image_and_file_name_is_never_caption():
    blocks = [Block(src="https://h/a.jpeg", alt="a.jpeg"), Block(text="9288ddce26e586400c70a19f9c549e74.jpeg"),
              Block(text="遂宁召开座谈会", by_image=True), Block(text=CONTENT),
              Block(src="https://h/b.png"), Block(text=CONTENT + "第二段。")]
    cleaned = clean_blocks(blocks)
    assert cleaned.images == [{"url": "https://h/a.jpeg", "caption": "遂宁召开座谈会"},
                              {"url": "https://h/b.png", "caption": None}]
    assert cleaned.body == CONTENT + "\n" + CONTENT + "第二段。"


def test_byline_is_last_paragraph():
    cleaned = clean_blocks([Block(text=CONTENT), Block(text="(文豪 四川法治报全媒体记者 罗孝伟)")])
    assert cleaned.byline == "(文豪 四川法治报全媒体记者 罗孝伟)"
    assert cleaned.body.endswith(cleaned.byline)


def _page_lines() -> list[str]:
    """Every line of the real pages and the fixture pages, cleaned as the cleaner cleans it."""
    from collections import Counter
    from pathlib import Path

    from crawler.extract.article import parse_article
    from crawler.extract.cleaning import clean_text
    root = Path(__file__).parent
    lines = []
    for path in [*sorted((root / "realpages" / "pages").glob("*.html")), *sorted(root.glob("fixtures/*/page.html"))]:
        raw = parse_article(path.read_bytes(), "http://www.sichuanpeace.gov.cn/scyw/20240101/123456.html")
        lines += [clean_text(b.text, Counter()) for b in raw.blocks if not b.is_image]
    return lines


def test_line_rule_triggers_hold_in_every_match():
    """A rule's triggers are a quick test before its pattern: every text the pattern matches holds one."""
    from crawler.rules.boilerplate import LINE_RULES
    examples = ["2021-11-03 10:00:08 来源:四川法治报", "06/02/2022 10:30", "来源：新华社 作者：张三", "浏览次数：100",
                "最后更新: 2019-09-07 15:14:21", "（责编：赵欣悦、杨光宇）", "小编 李四", "收藏本页", "字号：大 中 小",
                "【返回】", "打印本页 关闭窗口", "点击进入“文艺星青年”>>", "发送GP到6666 随时随地查行情",
                "请关注www.x.com", "第1页/共3页", "上一页", "下一页 >>", "我来说两句", "【推荐】", "免责声明",
                "违者必究", "四川长安网简介 | 版权声明 | 网站地图 |", "投稿：sccaw@sina.com"]
    texts = examples + _page_lines()
    for rule in LINE_RULES:
        if not rule.triggers:
            continue
        matched = [t for t in texts if rule.pattern.search(t)]
        assert matched, f"{rule.name}: no text of the corpus to check its triggers on"
        for text in matched:
            assert any(trigger in text for trigger in rule.triggers), (rule.name, text)


# One line for each branch of each end marker's pattern (selectors.END_MARKERS).
END_MARKER_EXAMPLES = ["责任编辑：王五", "（责编：赵欣悦）", "编辑/苏芳", "网编辑：李四", "（小编 张三）",
                       "【纠错】", "纠错",
                       "阅读剩余全文", "查看全文", "点击查看原文", "上一篇：标题", "【下一条】", "分享到：", "分享至",
                       "分享", "【打印本页】", "关闭窗口", "转播到腾讯微博", "我来说两句", "我要“揪”错", "【推荐】",
                       "【 评论 】", "【打印】", "【热点排行】", "页面功能", "您的发表的评论", "正文已结束",
                       "调查问题加载中", "请各位遵纪守法", "注意语言文明", "返回搜狐", "第1页/共3页", "上一页",
                       "下一页", "免责声明", "特别声明", "未经授权，不得转载", "违者必究",
                       "本文来自某网 更多资讯 请下载",
                       "相关新闻", "推荐阅读", "延伸阅读", "热点推荐", "热门排行", "猜你喜欢", "精彩图集", "视频推荐",
                       "更多精彩", "点击排行", "网友评论", "评论区", "已有12人参与", "往期回顾", "友情链接", "精彩专栏",
                       "四川长安网简介", "蜀ICP备13011412号", "ICP备 1234", "版 权 所 有", "Copyright 2024",
                       "转载请注明出处", "关于我们 |"]


def test_end_marker_triggers_hold_in_every_match():
    """An end marker's triggers are a quick test before the markers are searched: every short line
    one of them matches holds one of its triggers."""
    from crawler.rules.selectors import END_MARKER_MAX_CHARS, END_MARKER_TRIGGERS, END_MARKERS
    assert set(END_MARKER_TRIGGERS) == {name for name, _ in END_MARKERS}
    texts = [t for t in END_MARKER_EXAMPLES + _page_lines() if len(t) <= END_MARKER_MAX_CHARS]
    for name, pattern in END_MARKERS:
        matched = [t for t in texts if pattern.search(t)]
        assert matched, f"{name}: no text of the corpus to check its triggers on"
        for text in matched:
            assert any(trigger in text for trigger in END_MARKER_TRIGGERS[name]), (name, text)
    for example in END_MARKER_EXAMPLES:  # each example shows a branch of some marker
        assert any(pattern.search(example) for _, pattern in END_MARKERS), example


def test_breadcrumb_label_chars_hold_in_every_match():
    """Lines without BREADCRUMB_LABEL_CHARS are not searched for a breadcrumb: every match holds them."""
    from crawler.rules.selectors import BREADCRUMB_LABEL_CHARS, BREADCRUMB_RE
    examples = ["您的位置：首页 > 四川要闻", "当前位置:首页>正文", "所在位置 首页 / 政法动态"]
    matched = [t for t in examples + _page_lines() if BREADCRUMB_RE.search(t)]
    assert len(matched) >= len(examples)
    assert all(BREADCRUMB_LABEL_CHARS in text for text in matched)
