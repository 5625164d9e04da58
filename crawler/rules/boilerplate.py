"""Boilerplate rules, as data: each has a name (its stats key is ``clean/<name>``) and a reason.

Line rules drop a whole text block; text fixes rewrite text inside a block. Line rules that could
also match a sentence of an article (copyright, footer words) only apply to short lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .selectors import DATETIME_RE, DMY_DATETIME_RE, EDITOR_LABEL_CHAR, EDITOR_LINE_MAX_CHARS, EDITOR_RE, END_MARKERS

# The date-time shape without its named groups, so it can appear twice in one pattern.
_DATETIME = re.sub(r"\?P<\w+>", "", DATETIME_RE.pattern)
# ... or the year last (06/02/2022 10:30): an info line all the same.
_DATETIME = rf"(?:{_DATETIME}|{re.sub(r'[?]P<[a-zA-Z]+>', '', DMY_DATETIME_RE.pattern)})"
# Pieces of an info line: the site host, and labelled fields such as 来源:四川法治报 (no sentence punctuation).
_HOST = r"(?:www\.)?[\w.-]+\.(?:gov\.)?cn"
_INFO_FIELD = (r"(?:(?:信息|文章|稿件|新闻)?来\s*源(?:于)?|作\s*者|点击(?:数|量)?|浏览(?:次数)?|阅读)"
               r"\s*[:：]\s*[^\s】【，。,；;]*[】【\s]*")
# LineRule triggers: one of these is in every date of _DATETIME (its year, 19xx or 20xx), and in
# every field of _INFO_FIELD (its label's first part).
_YEAR_DIGITS = ("19", "20")
_INFO_FIELD_LABELS = ("来", "作", "点击", "浏览", "阅读")


@dataclass(frozen=True)
class LineRule:
    """Drop a text block that matches ``pattern`` and is at most ``max_chars`` long.

    ``triggers``: substrings one of which every match holds (a cheap test before the pattern: a
    block holding none of them is not searched); empty to always search.
    """

    name: str
    pattern: re.Pattern[str]
    max_chars: int = 200
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextFix:
    """Replace ``pattern`` by ``replacement`` inside a text block (or strip ``strip`` from its ends).

    ``triggers``: cheap tests, a substring or a pattern to search, one of which must hit for the fix
    to apply (most blocks need no fix, and a regex alternation scans slowly); empty to always apply.
    """

    name: str
    pattern: re.Pattern[str] | None
    replacement: str = ""
    triggers: tuple[str | re.Pattern[str], ...] = ()
    strip: str | None = None


INDENTATION_CHARS = " \t\r\n\u3000\xa0\u2002\u2003\ufeff"

TEXT_FIXES: tuple[TextFix, ...] = (
    # 2019 pages carry the four characters \ r \ n literally inside paragraphs.
    TextFix("literal_crlf", re.compile(r"(?:\\r|\\n|\\t)+"), "", triggers=("\\",)),
    # U+3000 / NBSP / spaces used as first-line indentation or trailing padding.
    TextFix("indentation", None, strip=INDENTATION_CHARS),
    # A portal's "back to the portal" link glued to the last paragraph: …。返回搜狐，查看更多
    TextFix("portal_link", re.compile(r"\s*返回搜狐[，,]?\s*查看更多\s*$"), "", triggers=("返回搜狐",)),
    # NBSP, U+3000 and other odd spaces inside a line become one plain space (第一章　总　则): the
    # record never holds a U+3000 (the schema says so, and the validate pipeline drops one that does).
    TextFix("odd_space", re.compile(r"[\xa0\u2002\u2003\u3000\u200b\t]+| {2,}"), " ",
            triggers=(re.compile(r"[\xa0\u2002\u2003\u3000\u200b\t]"), "  ")),
)

LINE_RULES: tuple[LineRule, ...] = (
    # Spacer paragraphs (<p>&nbsp;</p>, <p>　　</p>) left empty once indentation is stripped.
    LineRule("empty_paragraph", re.compile(r"^$")),
    # 您的位置:首页 > 四川要闻 >
    LineRule("breadcrumb", re.compile(r"^(?:您的位置|当前位置|所在位置)\s*[:：]?"), 160),
    # The info line, whole: [host 】【] [发布时间：] date-time [】【 来源:xxx] [作者/点击 ...], nothing else.
    # Anchored at both ends, so a sentence that mentions a date, a source or 【以案说法】 stays.
    LineRule("info_line", re.compile(
        rf"^(?:{_HOST}[】【\s]*)?[】【\s]*(?:(?:发布)?(?:时间|日期)\s*[:：]\s*)?(?:{_DATETIME})"
        rf"(?:[】【\s]*(?:{_INFO_FIELD}){{1,3}})?[】【\s]*$"), 100, _YEAR_DIGITS),
    # An info line with 来源 but no time (some pages only show the source), also whole.
    LineRule("info_line", re.compile(rf"^[】【\s]*(?:{_HOST}[】【\s]*)?(?:{_INFO_FIELD}){{1,3}}[】【\s]*$"), 60,
             _INFO_FIELD_LABELS),
    # A "last updated" line, whole (最后更新: 2019-09-07 15:14:21, 更新时间：…): read into updated_at.
    LineRule("updated_line", re.compile(rf"^[【\[(（]?\s*(?:最后|最近)?(?:更新|修改|修订)(?:时间|日期|于)?\s*[:：]?\s*"
                                        rf"(?:{_DATETIME})\s*[】\])）]?$"), 40, ("更新", "修改", "修订")),
    # 编辑:廖安泰 / 责任编辑：王五
    LineRule("editor_line", EDITOR_RE, EDITOR_LINE_MAX_CHARS, (EDITOR_LABEL_CHAR,)),
    # 上一篇 / 下一篇 navigation between articles.
    LineRule("prev_next", re.compile(r"^\s*[【\[]?\s*(?:上一篇|下一篇|上一条|下一条)"), 200),
    # A button that unfolds the rest of the text (the text follows it).
    LineRule("unfold", re.compile(r"^\s*(?:展开全文|展开阅读全文|点击展开全文)\s*[>»]*\s*$"), 20),
    # Share, print, close and font-size bars.
    LineRule("share_bar", re.compile(
        r"^\s*分享到\s*[:：]|打印本页|关闭窗口|收藏本页|(?:字号|字体)\s*[:：]?\s*[【\[]?\s*[大中小]|^[【\[]?\s*(?:打印|关闭|返回顶部|返回)\s*[】\]]?"
        r"(?:\s*[【\[]?\s*(?:打印|关闭|返回顶部|返回)\s*[】\]]?)*$"), 80,
             ("分享到", "打印", "关闭", "收藏本页", "字号", "字体", "返回")),
    # Share widgets' wordings inside the body (QQ news: 转播到腾讯微博 under the headline).
    LineRule("share_bar", re.compile(r"^转播到\S{0,6}微博$"), 20),
    # Footer link row: 四川长安网简介 | 版权声明 | 网站地图 | ... | 投稿:sccaw@sina.com |
    LineRule("footer", re.compile(r"四川长安网简介|版权声明\s*[|｜]|网站地图\s*[|｜]|投稿\s*[:：]\s*\S+@\S+"
                                  r"|联系我们\s*[|｜]"), 200),
    # 蜀ICP备13011412号-1 and other provinces' licence lines. The pattern starts with the literal,
    # which the regex engine finds fast, and only then looks back for the province character.
    LineRule("icp_line", re.compile(r"ICP(?<=[\u4e00-\u9fff]ICP)[备证]\s*\d+"), 200),
    # 川公网安备 51010402000000号, the police registration shown beside the ICP licence.
    LineRule("icp_line", re.compile(r"公网安备\s*\d+"), 200),
    # 版权所有 未经书面授权 不得复制或建立镜像违者必究, Copyright ©: a short line, no sentence before it.
    LineRule("copyright", re.compile(
        r"^[^。，,；;！？]{0,40}(?:版权所有|不得复制或建立镜像|Copyright\s*©?|All rights reserved)"
        r"[^。！？]{0,50}$", re.I), 90),
    # Comment bars and boxes, pagers, disclaimers: the end markers of the same names (selectors.py).
    # (Without triggers: each of these patterns starts with a literal, which the regex engine finds
    # faster than a loop of substring tests.)
    *(LineRule(name, pattern, 60) for name, pattern in END_MARKERS if name in ("comments", "pager", "disclaimer")),
    # A disclaimer paragraph: “特别声明：以上作品内容… / 免责声明：本内容来自…
    LineRule("disclaimer", re.compile(r"^[“\"]?\s*(?:特别声明|免责声明|版权声明)\s*[:：]"), 300),
    # A reprint notice closing a page: 39健康网（www.39.net）原创内容，未经授权不得转载，违者必究。…
    LineRule("disclaimer", re.compile(r"未经(?:授权|许可)[，,]?\s*(?:不得|禁止|严禁)(?:转载|复制|使用)"), 160),
    # Promotions between paragraphs: 点击进入“文艺星青年”>> / 发送GP到6666 随时随地查行情 / …请关注www.x.com
    LineRule("promo", re.compile(r"^点击(?:进入|查看|阅读|浏览|这里).{0,30}[>》»]{1,3}$|发送\w{1,10}到\d{4,}|"
                                 r"(?:请|欢迎)关注\s*(?:www\.|https?://)"), 60, ("点击", "发送", "关注")),
    # Labels of the page's classification: 所属分类：数理化 / 关键词：… / 标签：…
    LineRule("meta_label", re.compile(r"^(?:所属分类|分类|标签|关键词|关键字|Tags?)\s*[:：]", re.I), 40),
    # An image file name shown as text (alt/title residue): 9288dd....jpeg, UUID.png.
    LineRule("image_filename", re.compile(r"^[\w\-.]{6,80}\.(?:jpe?g|png|gif|bmp|webp|tiff?)$", re.I), 90),
)

# An image file name is never a caption (also used on image alt/title text).
IMAGE_FILENAME_RE = LINE_RULES[-1].pattern
