"""Selector candidates and text anchors, as data.

The real site's class names are unknown (site-notes.md), so every list below is an ordered set of
candidates, most specific first; extraction tries them in order and falls back to the text
anchors (info line, 编辑, footer markers) when none matches. Each entry says which layout it serves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

# --- Title candidates ---------------------------------------------------------------------------
# The title is chosen by agreement (article.py, ``_choose_title``): each source below proposes a
# title with a weight, a proposal gains the weight of every other source that agrees with it (equal,
# or the <title> starts with it), and the heaviest wins. A column header or a keyword box in a
# title-ish element proposes alone; the headline is backed by the <title> and the meta tags.
TITLE_META_XPATHS: tuple[tuple[str, int], ...] = (
    # (XPath returning strings, weight). Absolute paths into <head>: cheap.
    ("/html/head/meta[@name='ArticleTitle']/@content", 5),   # TRS / 政府网站 CMS article meta
    ("/html/head/meta[@property='og:title']/@content", 5),   # Open Graph
    ("/html/head/meta[@name='title']/@content", 2),
)


@dataclass(frozen=True)
class TitleElements:
    """Title-ish elements that propose a title: elements of these tags, whose class attribute holds
    one of these substrings (any element of the tags when none)."""

    tags: tuple[str, ...]
    class_parts: tuple[str, ...]
    weight: int


# Found in one pass of lxml's C iterator over the elements of their tags (article.py,
# ``_scan_tree``): as XPath (//h1, //*[@class][contains(@class,'tit') ...], //h2) they cost
# three whole-tree searches, ~0.3 ms per real page, the class one most.
TITLE_ELEMENTS: tuple[TitleElements, ...] = (
    # The page's headline, usually.
    TitleElements(("h1",), (), 2),
    # div.title, td.bt … ("title" holds "tit").
    TitleElements(("h1", "h2", "h3", "div", "td", "p", "span"), ("tit", "bt"), 1),
    TitleElements(("h2",), (), 1),
)
# Of each TITLE_ELEMENTS entry, the first this many elements in the page propose.
TITLE_ELEMENTS_EACH = 3

# The last part of a <title> after a separator (_, __, " - ", -, --, |, ｜, —): a site or channel name
# when it is at most 20 characters long and shorter than what comes before it.
# Punctuation a headline's phrase holds and a site or channel name does not.
TITLE_PHRASE_MARKS = ("：", "，", "。", "！", "？", "、", ":")
TITLE_SUFFIX_PART_RE = re.compile(r"\s*(?:_{1,2}|\s[-|–—]\s|-{1,2}|\||｜|—{1,2})\s*(?P<part>[^_|｜—–]{1,20}?)\s*$")
# <title> suffixes to strip when the title falls back to the document title (this site's own).
TITLE_SUFFIX_RE = re.compile(r"\s*(?:[-_|—–]+|--)\s*(?:四川长安网|[^\s_|-]{2,12}长安网)\s*$")
# A proposed title is this many characters long (a three-character headline exists: 镕喆堃).
TITLE_MIN_CHARS, TITLE_MAX_CHARS = 2, 200

# --- The info line ----------------------------------------------------------------------------
# Current: "www.sichuanpeace.gov.cn 】 【 2021-11-03 10:00:08 】 【 来源:四川法治报"
# 2019:    "2019-03-19 09:43:41 来源:四川法治报"
# Legacy:  "2017年06月05日 09:12  来源：四川日报"
DATETIME_RE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
)
# The year last (sites outside the mainland, English-language pages): 06/02/2022, 06-02-2022 10:30,
# 13.02.2022. Which of ``a`` and ``b`` is the day is read from the date itself (one above 12) or
# the page's other dates of this shape (article.py, ``_day_first``); undecided, it gives no time.
DMY_DATETIME_RE = re.compile(
    r"(?<![\d/.-])(?P<a>\d{1,2})\s*[-/.]\s*(?P<b>\d{1,2})\s*[-/.]\s*(?P<y>(?:19|20)\d{2})(?!\d)"
    r"(?:\s*(?P<H>\d{1,2})\s*[:：]\s*(?P<M>\d{2})(?:\s*[:：]\s*(?P<S>\d{2}))?)?")
# 来源：人民网 / 来源于：… / [来源: 新华社]; the value stops at a space, a bracket, a glued date
# (人民日报2024-05-13) or the next label (作者：, 编辑：, 发布时间 …).
SOURCE_RE = re.compile(
    r"(?:来\s*源\s*(?:于\s*[:：]?|[:：])|原创\s*[:：]|出\s*[处所]\s*[:：]|来自\s*[:：])\s*[\[【(（]?\s*"
    r"(?P<source>https?://[^\s】【|｜\[\]()（）]+|[^\s】【|｜\[\]()（）:：]+?)"
    r"(?=(?:19|20)\d{2}\s*[-/.年]|作者|编辑|责任编辑|记者|发布|时间|日期|浏览|点击|阅读|字号|[\s】【|｜\[\]()（）:：]|$)")
# A line without one of these characters has no SOURCE_RE label (a cheap test before the pattern).
SOURCE_LABEL_CHARS = ("源", "原创", "出", "来自")
# An info line naming its source without a label: "2022-02-13 09:57 光明网", "… 11:21 《理财周刊》",
# "2022-06-02 09:52:19政能亮 来自北京市" (the name right after the time, ending the line).
# ... or before its date, as a portal's channel host: "AUTO.SOHU.COM 2005年05月13日14:15".
UNLABELLED_SOURCE_BEFORE_RE = re.compile(
    r"^(?P<source>[A-Z][A-Z0-9.-]{3,40}\.(?:COM|CN|NET|ORG)(?:\.CN)?)\s+(?:19|20)\d{2}")
# A short name on its own line between the title and a bare date-time line: the source (澎湃: 新华社).
SOURCE_NAME_RE = re.compile(r"^[\u4e00-\u9fffA-Za-z·]{2,12}$")
UNLABELLED_SOURCE_RE = re.compile(
    r"\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?\s*(?P<source>[^\s\d:：|｜\[\]【】()（）]{2,20})(?:\s+来自\S{0,10})?\s*$")
# Meta tags Chinese CMSs publish (XPath returning strings), in order of trust.
SOURCE_META_XPATHS: tuple[str, ...] = (
    "/html/head/meta[@name='ContentSource']/@content",   # TRS
    "/html/head/meta[@name='contentSource']/@content",
    "/html/head/meta[@name='source']/@content",
)
TIME_META_XPATHS: tuple[str, ...] = (
    "/html/head/meta[@name='PubDate']/@content",          # TRS / 政府网站 CMS
    "/html/head/meta[@name='pubdate']/@content",
    "/html/head/meta[@name='publishdate']/@content",
    "/html/head/meta[@property='article:published_time']/@content",
    "/html/head/meta[@name='apub:time']/@content",
)
# A date in a URL of another shape: /2022-02/12/, /202202/t20220213_1.html, /2024/0510/, /20240509/.
URL_DATE_RE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?:[-/](?P<m1>\d{1,2})[-/](?P<d1>\d{1,2})|"
                         r"[-/]?(?P<m>[01]\d)[-/]?(?P<d>[0-3]\d))(?!\d)")
# A "last updated" line under the info line (or inside it): 最后更新: 2019-09-07 15:14:21 /
# 更新时间：… / 修改时间：…; its time is the record's ``updated_at``, never ``published_at``, and the
# line is not body (boilerplate ``updated_line``). The label, then the date-time.
UPDATED_LABEL_RE = re.compile(r"(?:最后|最近)?(?:更新|修改|修订)(?:时间|日期|于)?\s*[:：]?\s*(?=(?:19|20)\d{2})")
# How many blocks after the title the info line may be, and around it its 来源 / time may sit.
INFO_AFTER_TITLE_BLOCKS = 12
INFO_NEIGHBOURHOOD = 3
INFO_BRACKETS = ("】", "【")  # only the current template brackets its info line
INFO_LINE_MAX_CHARS = 160      # an info line is short; a body paragraph quoting a date is not

# --- Editor credit ------------------------------------------------------------------------------
# Found inside a short line, not only at its start: 责任编辑：王五 / (责编：赵欣悦、杨光宇) /
# [ 责编：… ] / 【责任编辑:…】 / 发布日期：… 责任编辑：龙慧 / 编辑/苏芳 / （松花江网编辑 孙桂芳）.
EDITOR_RE = re.compile(
    r"(?:责任编辑|责编|(?<![\u4e00-\u9fff])编辑|网编辑|小编)\s*(?:[:：/]\s*|\s+(?=[\u4e00-\u9fff]{2,4}\s*[)）\]】]))"
    # ... a name, or only a CMS's staff code (163.com: 责任编辑：NF041, NF041_NF5619): what the page shows.
    r"(?P<editor>[\u4e00-\u9fffA-Za-z·•、,， ]{1,20}?|[A-Za-z]{1,6}\d{2,6}(?:_[A-Za-z]{1,6}\d{2,6})?)\s*"
    # ... up to a bracket, the line's end, the next label, or a CMS's staff code (PN269, _NN2587).
    r"(?=[)）\]】|｜]|$|\s{2,}|\s*(?:来源|作者|审核|校对|责任|发布|时间|日期)|\s*_?[A-Z]{2}\d{2,6}\b)")
# An editor credit is a short line (or the info line).
EDITOR_LINE_MAX_CHARS = 60
# Every EDITOR_RE label (编辑, 责编, 小编 ...) holds this character: a line without it is not searched.
EDITOR_LABEL_CHAR = "编"

# --- Breadcrumb -------------------------------------------------------------------------------
BREADCRUMB_RE = re.compile(r"(?:您的位置|当前位置|所在位置)\s*[:：]?\s*(?P<trail>.{0,120})")
# Every BREADCRUMB_RE label holds these characters: a line without them is not searched.
BREADCRUMB_LABEL_CHARS = "位置"
BREADCRUMB_SPLIT_RE = re.compile(r"\s*(?:>|›|»|＞|→|/)\s*")
BREADCRUMB_SKIP = frozenset({"首页", "网站首页", "正文", "详细内容", "内容", ""})

# --- Byline: the closing credit line in parentheses ------------------------------------------
BYLINE_RE = re.compile(r"^[（(][^()（）]{2,120}[)）]$")

# --- Where the article ends: the first of these inside a short line after the body --------------
# (name, pattern) searched inside lines of at most END_MARKER_MAX_CHARS: a body paragraph that
# mentions 编辑 or 关闭 is long, and is not an end.
END_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("editor", EDITOR_RE),                                          # 责任编辑：… / (责编：…)
    ("correction", re.compile(r"【\s*纠错\s*】|^纠错$")),             # 新华网's 【纠错】
    # A teaser's link to the rest, where the page holds no more (展开全文 only unfolds text that is
    # there: it is cleaned, not an end).
    ("read_more", re.compile(r"阅读剩余全文|查看全文|点击查看原文")),
    ("prev_next", re.compile(r"^\s*[【\[]?\s*(?:上一篇|下一篇|上一条|下一条)")),
    # ... and the share widgets' own wordings (QQ news: 转播到腾讯微博), at either edge of the body.
    ("share", re.compile(r"分享到|分享至|^分享$|^\s*[【\[]?\s*(?:打印|关闭)(?:本页|窗口)?\s*[】\]]?$"
                         r"|^转播到\S{0,6}微博$")),
    # Comment and feedback bars, comment boxes: 【我来说两句】【我要“揪”错】【推荐】, 页面功能 ...
    ("comments", re.compile(r"我来说两句|我要“?揪”?错|【\s*(?:推荐|评论|打印|热点排行)\s*】|页面功能|您的发表的评论|"
                            r"正文已结束|调查问题加载中|请各位遵纪守法|注意语言文明|返回搜狐")),
    # Pagers of a multi-page article: 第1页/共1页 << 上一页 | 下一页 >> / |<<1234下一页>>|
    ("pager", re.compile(r"第\s*\d+\s*页\s*/?\s*共\s*\d+\s*页|上一页|下一页")),
    # Disclaimers and reprint notices closing a page.
    ("disclaimer", re.compile(r"免责声明|特别声明|未经(?:授权|许可)[，,]?\s*不得转载|违者必究"
                              r"|本文来自.{0,12}更多.{0,12}请下载")),
    ("related", re.compile(r"^\s*[【\[]?\s*(?:相关(?:新闻|阅读|文章|链接|报道|推荐|稿件)|推荐阅读|延伸阅读|热点推荐|"
                           r"热门(?:文章|推荐|新闻|排行)|猜你喜欢|精彩推荐|精彩图集|精彩视频(?:推荐)?|视频推荐|更多(?:新闻|精彩)|(?:新闻|点击|阅读)?排行|"
                           r"网友评论|我要评论|发表评论|评论区|最新评论|热门评论|全部评论|已有\d+人|往期(?:推荐|回顾)|友情链接|精彩专栏)")),
    ("footer", re.compile(r"四川长安网简介|蜀ICP备|ICP备\s*\d|版\s*权\s*所\s*有|Copyright|转载请注明"
                          r"|关于我们\s*[|｜]")),
)
END_MARKER_MAX_CHARS = 60
# Each end marker's triggers: substrings one of which every match of its pattern holds (read off
# the pattern, branch by branch). A line holding none of them is not searched for end markers: one
# search for all the triggers costs a tenth of one for all the markers (an alternation of patterns
# that do not all start with a literal is tried at every position of the line).
END_MARKER_TRIGGERS: dict[str, tuple[str, ...]] = {
    "editor": (EDITOR_LABEL_CHAR,),                     # 责任编辑, 责编, 编辑, 网编辑, 小编
    "correction": ("纠错",),
    "read_more": ("全文", "原文"),                       # 阅读剩余全文, 查看全文 / 点击查看原文
    "prev_next": ("上一", "下一"),
    "share": ("分享", "打印", "关闭", "转播到"),
    # 我要“揪”错 holds 我要; 【推荐】【评论】【打印】【热点排行】 their words.
    "comments": ("我来说两句", "我要", "推荐", "评论", "打印", "热点排行", "页面功能", "您的发表的评论", "正文已结束",
                 "调查问题加载中", "请各位遵纪守法", "注意语言文明", "返回搜狐"),
    "pager": ("共", "上一", "下一"),                     # 第1页/共1页, 上一页, 下一页
    "disclaimer": ("声明", "未经", "违者必究", "本文来自"),
    # 相关…, 推荐阅读 延伸阅读 热点推荐 视频推荐, 热门…, 猜你喜欢, 精彩…, 更多…, …排行, …评论 评论区,
    # 已有N人, 往期…, 友情链接.
    "related": ("相关", "推荐", "阅读", "热门", "猜你喜欢", "精彩", "更多", "排行", "评论", "已有", "往期", "友情链接"),
    "footer": ("四川长安网简介", "ICP备", "版", "Copyright", "转载请注明", "关于我们"),  # 版\s*权\s*所\s*有: 版
}

# A dateline opening the text (TNW中文站 10月14日报道, 新华社北京5月13日电, 本报讯): the first paragraph,
# even when short and a share widget follows it.
DATELINE_RE = re.compile(r"^[\w\u4e00-\u9fff（）()·]{2,24}\s*(?:\d{1,2}月\d{1,2}日\s*(?:电|讯|报道|消息)|讯)"
                         r"(?:[\s（(]|$)")

# A block this long (or an image) is article content, not a bar of controls.
MIN_CONTENT_CHARS = 12
# ... if it reads as prose (one of these) or is long: a metadata cell (索引号 1122…/2022-00426) is not.
CONTENT_MARKS = ("，", "。", "；", "！", "？", "：", ",")
CONTENT_LONG_CHARS = 40

# --- Soft 404 wordings (a 200 page that is not an article) ------------------------------------
SOFT_404_RE = re.compile(r"页面不存在|页面已删除|找不到(?:该|此)?页面|页面未找到|404\s*(?:Not Found|错误)|已被删除")

# --- Captions ---------------------------------------------------------------------------------
CAPTION_MAX_CHARS = 80
# Where a caption sits: in the image's own block (<p><img><br>图为…</p>, <figure>), or in the block
# right after it when that block is centred or small (these marks, read only on an element that
# follows an image): a plain line after an image is the next section's sub-heading, not a caption.
CAPTION_TAGS = frozenset({"center", "figcaption", "small"})
CAPTION_STYLE_RE = re.compile(r"text-align\s*:\s*center"
                              r"|font-size\s*:\s*(?:x{0,2}-?small|smaller|1[0-4](?:\.\d+)?px|[0-9](?:\.\d+)?pt|0?\.\d+em)",
                              re.I)
CAPTION_CLASS_RE = re.compile(r"caption|pic_?(?:txt|text|desc|info|note)|img_?(?:txt|text|desc|info|note)|tuzhu"
                              r"|photo_?(?:txt|desc)|center", re.I)
CAPTION_FONT_SIZES = frozenset({"1", "2", "-1", "-2"})  # <font size=2>: small
# Sub-heading shapes (一、 / （二） / 第三章): right after an image they are headings, not captions.
HEADING_RE = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]"
                        r"|第[一二三四五六七八九十百\d]+[章节条部分])")
# A site name in a heading (the logo's <h1>) is never an article title.
SITE_NAME_RE = re.compile(r"^[\u4e00-\u9fff]{2,10}长安网$")
SENTENCE_END = ("。", "！", "？", "…", "；")

# --- Text a reader never sees ------------------------------------------------------------------
# Elements hidden from readers (readability's isProbablyVisible): display:none or visibility:hidden
# in their style, the ``hidden`` attribute, aria-hidden="true". A news page's share-preview block
# right after <body> (headline + one-sentence summary, display:none) is not the article. Only the
# tags that hold blocks of text are looked at (lxml's C iterator yields just them: a whole-tree
# attribute search costs ~10 % of a page's extraction); HIDDEN_STYLE_RE decides on the style.
HIDDEN_TAGS = ("div", "section", "article", "aside", "ul", "table", "p")
HIDDEN_STYLE_RE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\s*(?:!important\s*)?(?:;|$)",
                             re.I)

# Block-level tags: a new line of text starts at each.
BLOCK_TAGS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "table", "tr", "td", "th",
     "section", "article", "header", "footer", "nav", "aside", "blockquote", "center", "dd", "dt",
     "dl", "form", "pre", "figure", "figcaption", "main", "hr", "tbody", "thead"}
)
SKIP_TAGS = frozenset({"script", "style", "noscript", "iframe", "select", "option", "textarea", "head", "template"})
# Text inside these is a heading or set in bold (Block.strong_chars): a sub-heading, never a caption.
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "strong", "b"})
