"""Selector candidates and text anchors, as data.

The real site's class names are unknown (site-notes.md), so every list below is an ordered set of
candidates, most specific first; extraction tries them in order and falls back to the text
anchors (info line, 编辑, footer markers) when none matches. Each entry says which layout it serves.
"""

from __future__ import annotations

import re

# --- Body containers (CSS), most specific first -----------------------------------------------
BODY_SELECTORS: tuple[tuple[str, str], ...] = (
    # (css, page family it identifies)
    # Legacy CMS: the body is td.black14 > div (seen in public code for this site); the cell is
    # taken whole, since the CMS may split the body into several sibling <div>s.
    ("td.black14", "legacy"),
    ("div.TRS_Editor", "current"),    # TRS WCM editor output, used by many provincial gov sites
    ("#zoom", "current"),             # TRS/gov templates with font-size buttons (字号 大 中 小)
    ("div.article-content", "current"),
    ("div#content", "current"),
    ("div.xl_con", "current"),        # "详细内容" pinyin-initials naming common on gov CMS
    ("div.content", "current"),
    ("article", "current"),           # HTML5 templates
)

# --- Title candidates (XPath returning strings), most specific first --------------------------
TITLE_XPATHS: tuple[str, ...] = (
    # Each is a whole-tree search (~50 µs), so each is written to be cheap: an absolute path into
    # <head>, and the class tests behind [@class] (which only elements with a class attribute pass).
    "/html/head/meta[@name='ArticleTitle']/@content",  # TRS article meta
    "//h1[contains(@class,'title')]",                  # h1.title
    "//*[@class][contains(@class,'xl_tit')]",          # gov CMS detail title
    "//*[@class][contains(@class,'article-title')]",
    "//div[@class='title']",                           # 2019 template
    "//h1",                                            # any single h1
)

# <title> suffixes to strip when the title falls back to the document title.
TITLE_SUFFIX_RE = re.compile(r"\s*(?:[-_|—–]+|--)\s*(?:四川长安网|[^\s_|-]{2,12}长安网)\s*$")

# --- The info line ----------------------------------------------------------------------------
# Current: "www.sichuanpeace.gov.cn 】 【 2021-11-03 10:00:08 】 【 来源:四川法治报"
# 2019:    "2019-03-19 09:43:41 来源:四川法治报"
# Legacy:  "2017年06月05日 09:12  来源：四川日报"
DATETIME_RE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
)
SOURCE_RE = re.compile(r"来\s*源\s*[:：]\s*(?P<source>[^\s】【|｜]+)")
INFO_BRACKETS = ("】", "【")  # only the current template brackets its info line
INFO_LINE_MAX_CHARS = 160      # an info line is short; a body paragraph quoting a date is not

# --- Editor line ------------------------------------------------------------------------------
EDITOR_RE = re.compile(r"^\s*[（(\[【]?\s*(?:责任编辑|编辑|责编)\s*[:：]\s*(?P<editor>[^\s)）\]】|]{1,20})")

# --- Breadcrumb -------------------------------------------------------------------------------
BREADCRUMB_RE = re.compile(r"(?:您的位置|当前位置|所在位置)\s*[:：]?\s*(?P<trail>.{0,120})")
BREADCRUMB_SPLIT_RE = re.compile(r"\s*(?:>|›|»|＞|→|/)\s*")
BREADCRUMB_SKIP = frozenset({"首页", "网站首页", "正文", "详细内容", "内容", ""})

# --- Byline: the closing credit line in parentheses ------------------------------------------
BYLINE_RE = re.compile(r"^[（(][^()（）]{2,120}[)）]$")

# --- Where the article ends: the first of these lines after the body --------------------------
END_MARKERS_RE = re.compile(
    r"^(?:(?:责任)?编辑\s*[:：]|上一篇|下一篇|【?\s*(?:打印|关闭)(?:本页|窗口)?\s*】?$|分享到|四川长安网简介|蜀ICP备|"
    r"[^。，]{0,20}版权所有)"
)
# An end marker is a short line: a body paragraph that starts with 关闭 or 打印 is not one.
END_MARKER_MAX_CHARS = 40

# A block this long (or an image) is article content, not a bar of controls.
MIN_CONTENT_CHARS = 12

# --- Soft 404 wordings (a 200 page that is not an article) ------------------------------------
SOFT_404_RE = re.compile(r"页面不存在|页面已删除|找不到(?:该|此)?页面|页面未找到|404\s*(?:Not Found|错误)|已被删除")

# --- Captions ---------------------------------------------------------------------------------
CAPTION_MAX_CHARS = 80
# Sub-heading shapes (一、 / （二） / 第三章): right after an image they are headings, not captions.
HEADING_RE = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]|第[一二三四五六七八九十百\d]+[章节条部分])")
# A site name in a heading (the logo's <h1>) is never an article title.
SITE_NAME_RE = re.compile(r"^[\u4e00-\u9fff]{2,10}长安网$")
SENTENCE_END = ("。", "！", "？", "…", "；")

# Block-level tags: a new line of text starts at each.
BLOCK_TAGS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "table", "tr", "td", "th",
     "section", "article", "header", "footer", "nav", "aside", "blockquote", "center", "dd", "dt",
     "dl", "form", "pre", "figure", "figcaption", "main", "hr", "tbody", "thead"}
)
SKIP_TAGS = frozenset({"script", "style", "noscript", "iframe", "select", "option", "textarea", "head", "template"})
HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6", "strong", "b"})
