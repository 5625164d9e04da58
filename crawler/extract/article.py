"""Article page extraction: page bytes or text + URL in, ``RawArticle`` out. No Scrapy.

Anchors first, selectors as a fast path: the info line (time, 来源), 编辑, the breadcrumb, the
footer markers and the URL's date and id hold across templates; the body container selectors of
``selectors.BODY_SELECTORS`` are tried first, and a page in an unknown template still yields its
body as the blocks between the info line (or the title) and the first end marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from lxml import etree

from ..rules import selectors as S
from ..rules.selectors import HIDDEN_TAGS
from .blocks import Block, Linearized, clean_inline, holding_text, is_hidden, linearize
from .containers import ContainerSelectors
from .page import HtmlPage, element_text, first_element, load_page
from .urls import URL_SHAPE_CURRENT, ArticleRef, page_ref

EXTRACTOR_FALLBACK = "fallback"
# How many first lines of a body container may be title, info line or controls.
TRIM_HEAD_BLOCKS = 4
# A body container holding fewer characters of text than this is empty (a wrapper, a placeholder).
MIN_BODY_CHARS = 20
# A line of prose at least this long between the title and the info line: the info line is below the body.
PARAGRAPH_MIN_CHARS = 40
# A page with this much article prose is not a soft 404, whatever a short line of it says.
SOFT_404_MAX_BODY_CHARS = 200
# How many lines above the info line a headline may be (a subtitle or a kicker may sit between).
TITLE_ABOVE_INFO_BLOCKS = 3
# A body holding less than this share of the paragraph characters of the page's main run of prose
# (``_main_region``) is flagged ``short_body``: never passed on silently (issue 22).
SHORT_BODY_RATIO = 1 / 3
# This many link lines in a row end the article: a related list or a ranking ...
LINK_RUN_BLOCKS = 2
# ... unless this many paragraphs of prose follow it within this many text lines (an advertising
# box of links inside an old portal's body: the article goes on below it).
RESUME_MIN_PARAGRAPHS = 2
RESUME_LOOKAHEAD_BLOCKS = 4
# A line this short beside a box's links is its bullet (·), not text.
BOX_BULLET_MAX_CHARS = 2

# BODY_SELECTORS compiled once, into one search for all of them.
_BODY_SELECTORS = ContainerSelectors(S.BODY_SELECTORS)
_TITLE_META = tuple((etree.XPath(xpath), weight) for xpath, weight in S.TITLE_META_XPATHS)
# For the one pass over the title-ish elements: the TITLE_ELEMENTS entries (by position) each tag may satisfy.
_TITLE_TAGS: dict[str, tuple[int, ...]] = {
    tag: tuple(i for i, entry in enumerate(S.TITLE_ELEMENTS) if tag in entry.tags)
    for entry in S.TITLE_ELEMENTS for tag in entry.tags}
_SOURCE_META = tuple(etree.XPath(xpath) for xpath in S.SOURCE_META_XPATHS)
_TIME_META = tuple(etree.XPath(xpath) for xpath in S.TIME_META_XPATHS)


@dataclass
class RawArticle:
    """What an article page says, before boilerplate cleaning."""

    url: str
    id: str
    channel: str | None
    url_shape: str = URL_SHAPE_CURRENT  # current, legacy or other (urls.py)
    title: str | None = None
    published_at: str | None = None
    published_at_source: str | None = None  # "page" or "url"
    updated_at: str | None = None  # a "last updated" time the page shows (最后更新 / 更新时间 / 修改时间)
    source: str | None = None
    editor: str | None = None
    channel_name: str | None = None
    blocks: list[Block] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    extractor: str = EXTRACTOR_FALLBACK  # the page family whose body container matched, or fallback
    encoding_declared: str | None = None
    encoding_used: str = "utf-8"
    not_article_reason: str | None = None  # set when the page is not an article (soft 404 ...)
    # What extraction doubts about this record (counted as quality/flag/<name>, in the manifest's
    # quality summary, and logged): ``short_body``, the body much shorter than the page's main prose.
    quality_flags: list[str] = field(default_factory=list)


_TAG_RE = re.compile(r"<[^>]+>")


def _propose(proposals: dict[str, list], text: str | None, weight: int) -> None:
    """Add a title proposal (whitespace-free key -> [text, weight, sources])."""
    if not text:
        return
    text = clean_inline(_TAG_RE.sub("", text)) if "<" in text else clean_inline(text)
    if not S.TITLE_MIN_CHARS <= len(text) <= S.TITLE_MAX_CHARS or S.SITE_NAME_RE.match(text):
        return
    key = "".join(text.split())
    entry = proposals.setdefault(key, [text, 0, 0])
    entry[1] += weight
    entry[2] += 1


def _strip_site_suffix(title: str) -> str:
    """A <title> without its trailing site and channel names, whatever the separator.

    "标题_数据_宏观频道首页_财经网 - CAIJING.COM.CN" -> "标题": the last part goes while it is
    short (selectors.TITLE_SUFFIX_PART_RE) and reads as a name, not a phrase of the headline
    ("新华视界｜河北遵化：数字农机…" keeps its second part: it holds a ：).
    """
    while True:
        match = S.TITLE_SUFFIX_PART_RE.search(title)
        if match is None or match.start() < 4 or any(mark in match["part"] for mark in S.TITLE_PHRASE_MARKS):
            return title
        title = title[:match.start()]


@dataclass
class TreeScan:
    """What one pass over the page's tree finds (``_scan_tree``): each body container selector's
    elements, the hidden elements holding text, each TITLE_ELEMENTS entry's first elements."""

    candidates: list[tuple[list[etree._Element], str]]
    hidden: frozenset[etree._Element]
    title_elements: list[list[etree._Element]]


_SELECTOR_TAGS = _BODY_SELECTORS.tags
# Each TITLE_ELEMENTS entry's class substrings as one pattern (None: any element of its tags).
_TITLE_CLASS_RES = tuple(re.compile("|".join(map(re.escape, entry.class_parts))) if entry.class_parts else None
                         for entry in S.TITLE_ELEMENTS)
_HIDDEN_TAGS = frozenset(HIDDEN_TAGS)
# Every tag one of the three looks at: lxml's C iterator yields only these, once each.
_SCAN_TAGS = tuple(sorted(_SELECTOR_TAGS | _HIDDEN_TAGS | set(_TITLE_TAGS)))


def _scan_tree(tree: etree._Element) -> TreeScan:
    """One pass over the tree's elements of the body selectors', hidden-element tests' and title
    elements' tags, in document order (three passes, and each element's class read up to three
    times, before: ~8 % of a page's extraction)."""
    found = _BODY_SELECTORS.start()
    hidden = []
    titles: list[list[etree._Element]] = [[] for _ in S.TITLE_ELEMENTS]
    each = S.TITLE_ELEMENTS_EACH
    for element in tree.iter(*_SCAN_TAGS):
        tag = element.tag
        # The names of its attributes, in one call (~30 ns without any): each attribute the tests
        # ask for is only read when the element has it.
        names = element.keys()
        classes = element.get("class") if "class" in names else None
        if tag in _SELECTOR_TAGS:
            _BODY_SELECTORS.sort(element, tag, classes, element.get("id") if "id" in names else None, found)
        if tag in _HIDDEN_TAGS and names and is_hidden(element, names):
            hidden.append(element)
        for index in _TITLE_TAGS.get(tag, ()):
            parts, elements = _TITLE_CLASS_RES[index], titles[index]
            if len(elements) < each and (parts is None or (classes and parts.search(classes) is not None)):
                elements.append(element)
    return TreeScan(_BODY_SELECTORS.finish(tree, found), holding_text(hidden), titles)


def _choose_title(tree: etree._Element, blocks: list[Block], doc_title: str, anchors: InfoAnchors,
                  title_elements: list[list[etree._Element]]) -> str | None:
    """The headline, by agreement of the title meta tags, h1 and title-ish elements and <title>.

    Each source proposes with its weight (selectors.TITLE_*_XPATHS); a proposal the <title> starts
    with gains 3, one shown as a line of the page gains 1, one among the lines right above the info
    line gains 3 (a column header the <title> repeats sits higher). Without any proposal: the <title>'s first
    part, split at its site separators (``_``, `` - ``, ``|``, ``--`` ...). ``doc_title``: the
    <title>'s text, whitespace folded.
    """
    proposals: dict[str, list] = {}
    for xpath, weight in _TITLE_META:
        for value in xpath(tree)[:1]:
            value = clean_inline(str(value))
            # A CMS that copies the whole <title> into its meta title: its site suffix goes.
            _propose(proposals, _strip_site_suffix(value) if value == doc_title else value, weight)
    for entry, elements in zip(S.TITLE_ELEMENTS, title_elements, strict=True):
        for element in elements:
            _propose(proposals, element_text(element), entry.weight)
    doc_key = "".join(doc_title.split())
    # (``line`` has its whitespace folded to single spaces: dropping them gives the proposals' keys.)
    lines = {b.line.replace(" ", "") for b in blocks[:400] if not b.is_image and len(b.line) <= S.TITLE_MAX_CHARS}
    if doc_key:
        # The longest page line the <title> starts with ("标题_频道_网站"): the headline as shown.
        prefixes = [line for line in lines if len(line) >= 4 and doc_key.startswith(line)]
        if prefixes:
            _propose(proposals, max(prefixes, key=len), 1)
        _propose(proposals, _strip_site_suffix(doc_title), 1)
    # The lines right above the page's first info line (a time with 来源 ...) or 来源 line: where a
    # headline sits. The nearest of them proposes itself too (a headline in a plain <div>).
    anchor = min((i for i in (anchors.info, anchors.source_line) if i), default=None)
    # The nearer a line is to that anchor, the more it weighs (a column header sits higher).
    above: dict[str, int] = {}
    for distance in range(TITLE_ABOVE_INFO_BLOCKS, 0, -1):
        if anchor and anchor - distance >= 0:
            above[blocks[anchor - distance].line.replace(" ", "")] = TITLE_ABOVE_INFO_BLOCKS + 1 - distance
    if anchor:
        nearest = next((b for b in reversed(blocks[max(0, anchor - TITLE_ABOVE_INFO_BLOCKS):anchor])
                        if b.line and not b.is_image and not b.is_links), None)
        if nearest is not None and len(nearest.line) <= 80 and not nearest.line.endswith("。"):
            _propose(proposals, nearest.line, 2)
    scores = {key: weight + (3 if doc_key.startswith(key) else 0) + (1 if key in lines else 0) + above.get(key, 0)
              for key, (_, weight, _) in proposals.items()}
    if not scores:
        return None
    best = max(scores, key=lambda key: (scores[key], len(key)))
    # A headline in two parts ("主标题——副标题") that the <title> and a meta tag give whole, while
    # the <h1> holds the first part: the whole one, when it scores nearly as well.
    longer = [key for key in scores if key != best and key.startswith(best) and doc_key.startswith(key)
              and scores[key] >= scores[best] - 2]
    if longer:
        best = max(longer, key=len)
    return proposals[best][0]


def _iso_beijing(match: re.Match[str]) -> str | None:
    try:
        moment = datetime(
            int(match["y"]), int(match["m"]), int(match["d"]),
            int(match["H"] or 0), int(match["M"] or 0), int(match["S"] or 0),
        )
    except ValueError:
        return None
    return moment.isoformat(timespec="seconds") + "+08:00"


def _date_in(text: str) -> re.Match[str] | None:
    """The first date (with its time) in the text: year first, else year last (06/02/2022)."""
    return S.DATETIME_RE.search(text) or S.DMY_DATETIME_RE.search(text)


def _day_first(match: re.Match[str], blocks: list[Block]) -> bool | None:
    """Whether a year-last date reads day first (06/02/2022: 6 February), or None when undecided.

    The date decides when one of its numbers is above 12; else the page's other year-last dates
    do, when those that decide agree (a site writes its dates one way).
    """
    a, b = int(match["a"]), int(match["b"])
    if a > 12 >= b:
        return True
    if b > 12 >= a:
        return False
    votes = set()
    for block in blocks[:400]:
        line = block.line
        if "/" in line or "-" in line or "." in line:
            for other in S.DMY_DATETIME_RE.finditer(line):
                a, b = int(other["a"]), int(other["b"])
                if a > 12 >= b:
                    votes.add(True)
                elif b > 12 >= a:
                    votes.add(False)
    return votes.pop() if len(votes) == 1 else None


def _page_time(info_text: str, blocks: list[Block]) -> str | None:
    """The publication time the info line shows (Beijing time), or None (a year-last date whose
    order nothing on the page decides is no time: the URL's date is used instead)."""
    match = S.DATETIME_RE.search(info_text)
    if match:
        return _iso_beijing(match)
    match = S.DMY_DATETIME_RE.search(info_text)
    if match is None:
        return None
    day_first = _day_first(match, blocks)
    if day_first is None:
        return None
    day, month = (match["a"], match["b"]) if day_first else (match["b"], match["a"])
    try:
        moment = datetime(int(match["y"]), int(month), int(day), int(match["H"] or 0), int(match["M"] or 0),
                          int(match["S"] or 0))
    except ValueError:
        return None
    return moment.isoformat(timespec="seconds") + "+08:00"


# SOURCE_LABEL_CHARS in one pattern: one search of a line, cheaper than a generator of ``in`` tests.
_SOURCE_LABEL_RE = re.compile("|".join(map(re.escape, S.SOURCE_LABEL_CHARS)))


def _has_source(line: str) -> bool:
    """Whether the line names a source (selectors.SOURCE_RE), with a cheap test first."""
    return _SOURCE_LABEL_RE.search(line) is not None and S.SOURCE_RE.search(line) is not None


def _is_info_line(text: str, near_title: bool = False) -> bool:
    """A short line with a date (and a time, 来源 or the info brackets, unless right under the title).

    A line in parentheses is a credit quoted in the body (（来源：新华社 2023年12月30日）), not the
    page's info line; nor is a sentence.
    """
    if (len(text) > S.INFO_LINE_MAX_CHARS or text.startswith(("（", "(")) or "。" in text
            or ("20" not in text and "19" not in text)):  # no year: cheaper than the date pattern
        return False
    if S.UPDATED_LABEL_RE.match(text):
        return False  # a "last updated" line: its time is not the publication's
    match = _date_in(text)
    if not match:
        return False
    return near_title or bool(match["H"]) or "来源" in text or any(b in text for b in S.INFO_BRACKETS)


@dataclass(frozen=True)
class InfoAnchors:
    """The page's first info line (one with 来源 preferred) and first short line naming a source,
    found in one scan of its lines (``_info_anchors``)."""

    info: int | None
    source_line: int | None  # among the first SOURCE_LINE_BLOCKS lines


# A line naming its source is looked for among this many first lines of the page.
SOURCE_LINE_BLOCKS = 400


def _info_anchors(blocks: list[Block]) -> InfoAnchors:
    """The page's first info line, one with 来源 preferred, and its first short line with a 来源."""
    first = source_line = None
    for index, block in enumerate(blocks):
        text = block.line
        if (source_line is None and index < SOURCE_LINE_BLOCKS and len(text) <= S.INFO_LINE_MAX_CHARS
                and not text.startswith(("（", "(")) and _has_source(text)):
            source_line = index
        if _is_info_line(text):
            if S.SOURCE_RE.search(text):
                # (A short info line with 来源 names a source itself: no source line comes later first.)
                return InfoAnchors(index, source_line)
            if first is None:
                first = index
    return InfoAnchors(first, source_line)


def _find_info_index(blocks: list[Block], title_index: int | None, page_info: int | None) -> int | None:
    """Index of the info line: right under the title when there is one, else the first in the page
    (``page_info``, from ``_info_anchors``).

    Under the title, a line with 来源 or a time is preferred to a bare date; in the page, a line
    with 来源 is preferred.
    """
    if title_index is not None:
        first = None
        # Under the title first; then the few lines above it (an e-paper shows its date above).
        window = [*range(title_index + 1, min(len(blocks), title_index + 1 + S.INFO_AFTER_TITLE_BLOCKS)),
                  *range(title_index - 1, max(-1, title_index - 1 - S.INFO_NEIGHBOURHOOD), -1)]
        for index in window:
            text = blocks[index].line
            if _is_info_line(text, near_title=True):
                match = _date_in(text)
                if S.SOURCE_RE.search(text) or (match and match["H"]):
                    return index
                if first is None:
                    first = index
        if first is not None:
            return first
    return page_info


def _find_title_index(blocks: list[Block], title: str | None) -> int | None:
    """The headline's line: of the lines showing the title, the first that is not a link (a list
    of the edition's articles may repeat it above), else the first."""
    if not title:
        return None
    found = [index for index, block in enumerate(blocks) if block.line == title]
    return next((index for index in found if not blocks[index].is_links), found[0] if found else None)


# Every end marker's triggers in one pattern (selectors.END_MARKER_TRIGGERS): most lines hold none,
# and this one search of literals says so (~0.15 µs a line, against ~1.7 µs for the markers' own
# patterns joined in one).
_END_MARKER_HINT = re.compile("|".join(map(re.escape, sorted(
    {trigger for triggers in S.END_MARKER_TRIGGERS.values() for trigger in triggers}))))


def _end_marker(line: str) -> str | None:
    """The name of the end marker inside this (short) line, or None."""
    if len(line) <= S.END_MARKER_MAX_CHARS and _END_MARKER_HINT.search(line):
        for name, pattern in S.END_MARKERS:
            if pattern.search(line):
                return name
    return None


def _is_paragraph(block: Block) -> bool:
    """A line of article prose: long enough, not links, with sentence punctuation."""
    return len(block.line) >= PARAGRAPH_MIN_CHARS and not block.is_links and "，" in block.line


def _body_start(blocks: list[Block], start: int, title: str | None = None) -> int:
    """Where the body starts from ``start``: past link lines, and past any bar that ends an article
    (分享, 发表评论, 更多精彩 ...), met before the first line of content (a box between header and body)."""
    index = start
    while index < len(blocks) and blocks[index].is_links:
        index += 1  # a bar of links under the info line (荐稿, 打印, 分享 ...)
    for scan in range(index, len(blocks)):
        block = blocks[scan]
        if not block.is_image and block.line != title and (block.is_content or S.DATELINE_RE.match(block.line)):
            break  # content, or a dateline opening the text (short, but the first paragraph)
        if block.is_links or _end_marker(block.line) is not None:
            index = scan + 1  # a box of links (recommended reading ...) before the body
    return index


def _find_end_index(blocks: list[Block], start: int, title: str | None = None,
                    boxes: list[range] | None = None) -> int:
    """Index where the article ends, after some content (share/print bars may precede the body).

    It ends at the first end marker (selectors.END_MARKERS: an editor credit, 【纠错】, 上一篇,
    a share bar, a 相关新闻 / 排行 heading, a footer line) or at the first of
    ``LINK_RUN_BLOCKS`` link lines in a row (a related list or a ranking with no heading) -- unless
    the article goes on after the run (``_article_resumes``: an advertising box of links in the
    middle of an old portal's body): then the box's range is added to ``boxes`` (when given) and
    the reading goes on past it.
    """
    seen_content = False
    run_start, run = 0, 0
    index = start
    while index < len(blocks):
        block = blocks[index]
        if block.is_links:
            run_start, run = (run_start, run + 1) if run else (index, 1)
            if seen_content and run >= LINK_RUN_BLOCKS:
                resume = _article_resumes(blocks, index + 1) if boxes is not None else None
                if resume is None:
                    return run_start
                first = run_start
                while (first > start and len(blocks[first - 1].line) <= BOX_BULLET_MAX_CHARS
                       and not blocks[first - 1].is_image):
                    first -= 1  # the box's bullets (·) before its first link
                boxes.append(range(first, resume))  # type: ignore[union-attr]  # resume is only set when boxes is given
                run, index = 0, resume
                continue
        elif block.is_content:
            run = 0  # only article text breaks a run of links (not an image, a date, a separator)
        line = block.line
        if _end_marker(line) is not None:
            if seen_content:
                return index
        elif not block.is_image and block.is_content and line != title:
            seen_content = True  # an image alone is not (a QR code above a share bar), nor the title again
        index += 1
    return len(blocks)


def _article_resumes(blocks: list[Block], at: int) -> int | None:
    """Where the article goes on after a run of link lines ending before ``at``, or None.

    Past the run's other link lines and bullets, the next ``RESUME_LOOKAHEAD_BLOCKS`` text lines
    must hold ``RESUME_MIN_PARAGRAPHS`` paragraphs of prose and no end marker or bold heading
    (which opens another section: a related list's teaser, a ranking).
    """
    index = at
    while index < len(blocks) and (blocks[index].is_links or len(blocks[index].line) <= BOX_BULLET_MAX_CHARS):
        index += 1
    paragraphs = seen = 0
    for block in blocks[index:]:
        if block.is_image:
            continue
        if block.is_links or block.is_strong or _end_marker(block.line) is not None:
            return None
        paragraphs += _is_paragraph(block)
        seen += 1
        if paragraphs >= RESUME_MIN_PARAGRAPHS:
            return index
        if seen >= RESUME_LOOKAHEAD_BLOCKS:
            return None
    return None


def _main_region(blocks: list[Block]) -> tuple[int, int]:
    """The run of blocks with the most article text, for a page with no title or info line to start from.

    Each block scores its characters when it reads as content (more with sentence punctuation), a
    link line scores minus its characters, a short line a little less than nothing; the best run is
    the one of greatest sum (Kadane's algorithm).
    """
    best, best_range = 0, (0, 0)
    total, begin = 0, 0
    for index, block in enumerate(blocks):
        if block.is_image:
            score = 5
        elif block.is_links:
            score = -len(block.line) - 10
        elif len(block.line) >= S.MIN_CONTENT_CHARS:
            score = len(block.line) + (10 if any(p in block.line for p in "，。") else 0)
        else:
            score = -3
        if total <= 0:
            total, begin = 0, index
        total += score
        if total > best:
            best, best_range = total, (begin, index + 1)
    return best_range


def _updated_at(blocks: list[Block], info_index: int | None, title_index: int | None) -> str | None:
    """The "last updated" time shown in the info line or the few short lines under it (or under the
    title), as ``published_at`` reads its time (Beijing time)."""
    anchor = info_index if info_index is not None else title_index
    if anchor is None:
        return None
    for block in blocks[anchor:anchor + S.INFO_NEIGHBOURHOOD + 1]:
        line = block.line
        if len(line) > S.INFO_LINE_MAX_CHARS or ("更" not in line and "修" not in line):
            continue
        label = S.UPDATED_LABEL_RE.search(line)
        match = S.DATETIME_RE.match(line, label.end()) if label else None
        if match:
            return _iso_beijing(match)
    return None


def _channel_name(blocks: list[Block], title: str | None) -> str | None:
    for block in blocks[:80]:
        match = S.BREADCRUMB_RE.search(block.line) if S.BREADCRUMB_LABEL_CHARS in block.line else None
        if not match:
            continue
        crumbs = [c for c in S.BREADCRUMB_SPLIT_RE.split(match["trail"]) if c not in S.BREADCRUMB_SKIP]
        crumbs = [c for c in crumbs if c != title and len(c) <= 20]
        if crumbs:
            return crumbs[-1]
    return None


def _editor(blocks: list[Block], start: int) -> str | None:
    """The last editor credit in a short line from ``start`` on (selectors.EDITOR_RE)."""
    found = None
    for block in blocks[start:]:
        if len(block.text) > 2 * S.EDITOR_LINE_MAX_CHARS or block.is_image:
            continue  # long lines are paragraphs: skip before normalizing them
        text = block.line
        if S.EDITOR_LABEL_CHAR not in text:
            continue
        if len(text) <= S.EDITOR_LINE_MAX_CHARS or S.INFO_BRACKETS[0] in text:
            matches = [m for m in S.EDITOR_RE.finditer(text) if m["editor"].strip()]
            if matches:  # "编辑：倪仕轩 责任编辑：杨格": the responsible editor
                chosen = next((m for m in matches if m.group(0).startswith("责任编辑")), matches[-1])
                found = chosen["editor"].strip()
    return found


def _source(blocks: list[Block], info_index: int | None, title_index: int | None,
            tree: etree._Element) -> str | None:
    """来源 from the info line, else the lines around it (or under the title), else the CMS meta tags."""
    if info_index is not None:
        line = blocks[info_index].line
        if not S.SOURCE_RE.search(line):
            unlabelled = S.UNLABELLED_SOURCE_RE.search(line) or S.UNLABELLED_SOURCE_BEFORE_RE.match(line)
            if unlabelled:
                return unlabelled["source"]
            previous = blocks[info_index - 1] if info_index > 0 else None
            match = S.DATETIME_RE.search(line)
            if (previous is not None and title_index is not None and title_index < info_index - 1
                    and match and match.group(0) == line and not previous.is_links
                    and S.SOURCE_NAME_RE.match(previous.line)):
                return previous.line  # the info line is a bare time; the name above it is the source
    for anchor in (info_index, title_index):
        if anchor is None:
            continue
        around = [anchor] + [i for d in range(1, S.INFO_NEIGHBOURHOOD + 1) for i in (anchor + d, anchor - d)]
        for index in around:
            line = blocks[index].line if 0 <= index < len(blocks) else ""
            # A credit in parentheses is quoted by the body ((来源：新华社 2023年12月30日)), not the page's.
            if line and len(line) <= S.INFO_LINE_MAX_CHARS and not line.startswith(("（", "(")):
                match = S.SOURCE_RE.search(line)
                if match:
                    return match["source"]
    for xpath in _SOURCE_META:
        for value in xpath(tree)[:1]:
            value = clean_inline(str(value))
            if 2 <= len(value) <= 40:
                return value
    return None


def _meta_time(tree: etree._Element) -> str | None:
    for xpath in _TIME_META:
        for value in xpath(tree)[:1]:
            match = S.DATETIME_RE.search(str(value))
            if match:
                return _iso_beijing(match)
    return None


def _url_time(url: str) -> str | None:
    match = S.URL_DATE_RE.search(urlsplit(url).path)
    if match:
        month, day = (match["m1"], match["d1"]) if match["m1"] else (match["m"], match["d"])
        try:
            return datetime(int(match["y"]), int(month), int(day)).isoformat(timespec="seconds") + "+08:00"
        except ValueError:
            return None
    return None


def _family(info_text: str | None, body_family: str | None) -> str:
    if body_family == "legacy" or (info_text and "年" in info_text and S.DATETIME_RE.search(info_text)):
        return "legacy"
    if info_text and S.DATETIME_RE.search(info_text) and not any(b in info_text for b in S.INFO_BRACKETS):
        return "2019"
    return "current"


def _holds_text(element: etree._Element, min_chars: int = MIN_BODY_CHARS) -> bool:
    """Whether the element's text, stripped at both ends, has ``min_chars`` characters.

    Counted piece by piece, and read no further than that: a container's first paragraph answers.
    """
    count = 0  # characters from the first non-space one to the last so far
    trailing = 0  # spaces after the last non-space character
    for piece in element.itertext():
        core = piece.strip()
        if not core:
            trailing += len(piece) if count else 0
            continue
        if count:
            count += trailing + len(piece) - len(piece.lstrip())
        count += len(core)
        trailing = len(piece) - len(piece.rstrip())
        if count >= min_chars:
            return True
    return False


def _body_marks(candidates: list[tuple[list[etree._Element], str]]) -> frozenset[etree._Element]:
    """The candidates the page walk records: each selector's, up to the first that matches text.

    The later ones are only needed when that text turns out to be scripts or markup, and
    ``_body_by_selector`` then linearizes them itself.
    """
    marked: list[etree._Element] = []
    for elements, _ in candidates:
        marked += elements
        if any(_holds_text(element) for element in elements):
            break
    return frozenset(marked)


def _best_container(elements: list[etree._Element], linearized: Callable[[etree._Element], Linearized | None]
                    ) -> tuple[Linearized | None, int]:
    """The element holding the most block text, as linearized, and that many characters."""
    best: Linearized | None = None
    best_chars = 0
    for element in elements:
        linear = linearized(element)
        if linear is None:
            continue
        chars = sum(len(b.text.strip()) for b in linear.blocks)
        if chars > best_chars:
            best, best_chars = linear, chars
    return best, best_chars


def _body_by_selector(candidates: list[tuple[list[etree._Element], str]], page: Linearized,
                      link_base: str, hidden: frozenset[etree._Element] = frozenset()
                      ) -> tuple[Linearized, str] | None:
    """The first body container candidate holding real text, as the page walk saw it, with its family.

    Rarely, the container that stopped the marking holds no block text (only scripts ...): the
    candidates after it, which the walk did not record, are linearized here.
    """
    for elements, family in candidates:
        best, best_chars = _best_container(elements, lambda e: page.part(e) or linearize(e, link_base, hidden=hidden))
        if best is not None and best_chars >= MIN_BODY_CHARS:
            return best, family
    return None


def _trim_body(blocks: list[Block], title: str | None, info_text: str | None) -> list[Block]:
    """Drop what a container may hold around the body: title and info line above, end markers below.

    Only the page's own info line (found outside, by its text) or title, among the container's
    first lines, is cut: a body paragraph that quotes a date and time is content.
    """
    start = 0
    head = [b.line for b in blocks[:TRIM_HEAD_BLOCKS]]
    if info_text is not None and info_text in head:
        start = head.index(info_text) + 1
    elif title is not None and title in head:
        start = head.index(title) + 1
    boxes: list[range] = []
    return _without(blocks, start, _find_end_index(blocks, start, boxes=boxes), boxes)


def parse_article(content: bytes | str | HtmlPage, url: str, content_type: str | None = None,
                  base_url: str | None = None) -> RawArticle:
    """Extract an article from its page; ``not_article_reason`` is set when it is not one."""
    ref: ArticleRef = page_ref(url, base_url or url)
    page = load_page(content, content_type)
    article = RawArticle(url=ref.url, id=ref.id, channel=ref.channel, url_shape=ref.shape,
                         encoding_declared=page.encoding_declared, encoding_used=page.encoding_used)
    if page.binary:
        article.not_article_reason = f"binary file: {page.binary}"
        return article
    if page.tree is None:
        article.not_article_reason = f"unparsable HTML: {page.parse_error}" if page.parse_error else "empty page"
        return article
    tree = page.tree
    link_base = page.link_base(ref.url)
    scan = _scan_tree(tree)
    candidates, hidden = scan.candidates, scan.hidden
    linear_page = linearize(page.content_root, link_base, _body_marks(candidates), hidden)
    page_blocks = linear_page.blocks
    title_element = first_element(tree, "title")
    doc_title = element_text(title_element) if title_element is not None else ""
    anchors = _info_anchors(page_blocks)
    article.title = _choose_title(tree, page_blocks, clean_inline(doc_title), anchors, scan.title_elements)
    title_index = _find_title_index(page_blocks, article.title)
    info_index = _find_info_index(page_blocks, title_index, anchors.info)
    info_text = page_blocks[info_index].line if info_index is not None else None

    article.published_at = _page_time(info_text, page_blocks) if info_text else None
    if article.published_at:
        article.published_at_source = "page"
    elif (meta_time := _meta_time(tree)) is not None:
        article.published_at, article.published_at_source = meta_time, "meta"
    elif ref.date is not None:
        article.published_at = f"{ref.date.isoformat()}T00:00:00+08:00"
        article.published_at_source = "url"
    elif (url_time := _url_time(ref.url)) is not None:
        article.published_at, article.published_at_source = url_time, "url"

    article.updated_at = _updated_at(page_blocks, info_index, title_index)
    article.source = _source(page_blocks, info_index, title_index, tree)
    article.editor = _editor(page_blocks, title_index or 0)
    article.channel_name = _channel_name(page_blocks, article.title)

    # The body: where the first matching container says, else from the info line (or title) to the
    # article's end, else the page's run of most article text.
    # It starts under the info line, unless article text lies between the title and the info line
    # (then the info line closes the article, and it starts under the title).
    info_below = (info_index is not None and title_index is not None and title_index < info_index
                  and any(_is_paragraph(b) for b in page_blocks[title_index + 1:info_index]))
    if info_index is not None and not info_below:
        start: int | None = max(info_index, title_index if title_index is not None else -1) + 1
    else:
        start = title_index + 1 if title_index is not None else None
    boxes: list[range] = []  # advertising boxes inside the body, left out
    if start is None:
        region_start, region_end = _main_region(page_blocks)
    else:
        start = _body_start(page_blocks, start, article.title)
        region_end = _find_end_index(page_blocks, start, article.title, boxes)
        region_start = start
        if info_below and info_index is not None:  # (info_below says it is not None)
            region_end = min(region_end, info_index)
    region = _without(page_blocks, region_start, region_end, boxes)
    selected = _body_by_selector(candidates, linear_page, link_base, hidden)
    if selected is not None:
        linear, body_family = selected
        article.blocks = _trim_body(linear.blocks, article.title, info_text)
        article.attachments = linear.attachments
        article.extractor = _family(info_text, body_family)
        if _chars(article.blocks) * 2 < _chars(region):
            article.blocks = []  # a container holding half the article or less: a wrapper of one part
    if not any(b.text.strip() for b in article.blocks):
        article.blocks = region
        article.attachments = _attachments_in(linear_page.attachments, article.blocks)
        article.extractor = EXTRACTOR_FALLBACK

    if article.blocks and _short_body(article.blocks, page_blocks):
        article.quality_flags.append("short_body")

    if info_text is None and _looks_like_soft_404(doc_title, page_blocks, article.blocks):
        article.not_article_reason = "soft 404"
    elif not any(b.text.strip(" \u3000\xa0") for b in article.blocks):
        article.not_article_reason = "empty body"
    elif article.published_at is None:
        article.not_article_reason = "no publication time shown"  # a URL of another shape, no time
    elif not article.title:
        article.not_article_reason = "no title"
    return article


def _without(blocks: list[Block], start: int, end: int, boxes: list[range]) -> list[Block]:
    """``blocks[start:end]`` without the blocks of ``boxes``."""
    if not boxes:
        return blocks[start:end]
    return [blocks[i] for i in range(start, end) if not any(i in box for box in boxes)]


def _short_body(body: list[Block], blocks: list[Block]) -> bool:
    """Whether the body holds less than SHORT_BODY_RATIO of the paragraph characters of the page's
    main run of prose (``_main_region``); the page's paragraphs, all of them, bound it cheaply first."""
    limit = _chars(body) / SHORT_BODY_RATIO
    if sum(len(b.line) for b in blocks if len(b.line) >= PARAGRAPH_MIN_CHARS and "，" in b.line) <= limit:
        return False
    return sum(len(b.line) for b in blocks[slice(*_main_region(blocks))] if _is_paragraph(b)) > limit


def _chars(blocks: list[Block]) -> int:
    """Characters of article content in the blocks (link lines and short lines not counted)."""
    return sum(len(b.line) for b in blocks if not b.is_image and b.is_content)


def _attachments_in(found: list[dict[str, str]], blocks: list[Block]) -> list[dict[str, str]]:
    """The page's attachment links whose text lies inside the fallback body blocks."""
    body_text = "\n".join(b.text for b in blocks)
    return [a for a in found if a["name"] in body_text or a["url"].rsplit("/", 1)[-1] in body_text]


def _looks_like_soft_404(title_text: str, blocks: list[Block], body: list[Block]) -> bool:
    """The <title> says the page is missing, or a short line does and no article text was found.

    (A template's hidden "页面未找到" box at the foot of a real article does not make it a 404.)
    """
    if S.SOFT_404_RE.search(title_text) or title_text.strip().startswith("404"):
        return True
    if sum(len(b.line) for b in body if _is_paragraph(b)) >= SOFT_404_MAX_BODY_CHARS:
        return False
    return any(S.SOFT_404_RE.search(b.text) for b in blocks if len(b.text) <= 80)
