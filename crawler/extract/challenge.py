"""Is this 200 page a challenge, block or busy page instead of the page asked for? Pure, no Scrapy.

``challenge_reason(page)`` takes the bytes as received (or decoded text) and answers with a reason,
``"<rule name>: <what matched>"`` (the rules and their names: ``crawler/rules/challenge.py``), or
None. It is cheap on the pages a crawl mostly reads: a long page with an article marker (来源,
发布时间, 责任编辑 ...) is answered from its bytes without decoding. Only short pages, or pages
without article markers, are read further, in this order:

1. machine strings of challenge scripts and block pages (``SOURCE_TOKENS``) in the source;
2. nothing more for a page with an article marker: a short article quoting "系统繁忙" is an article;
3. nothing more for a page with much visible text or many links (a list page, a home page);
4. a JavaScript challenge: almost no visible text, and a script that sets a cookie and reloads;
5. the wordings of ``TITLE_RULES`` in the title and of ``LINE_RULES`` in short lines of text
   outside links (a headline that quotes "系统繁忙" is a link).
"""

from __future__ import annotations

import html
import re

from ..rules.challenge import (
    ARTICLE_MARKER_BYTES,
    ARTICLE_MARKERS,
    ARTICLE_MARKERS_LOWER,
    JS_CHALLENGE_MAX_TEXT,
    JS_COOKIE_RE,
    JS_RELOAD_RE,
    LINE_MAX_CHARS,
    LINE_RULES,
    LINKS_MAX,
    LONG_PAGE_BYTES,
    LONG_PAGE_CHARS,
    PAGE_TEXT_MAX,
    SCAN_CHARS,
    SOURCE_TOKENS,
    TITLE_RULES,
    ChallengeRule,
)
from .encoding import decode_page
from .page import binary_kind

JS_CHALLENGE = "javascript_challenge"
SCRIPT_RE = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.S | re.I)
# A piece of markup: a script, style, template or comment (invisible), a link's start or end tag
# (group 1: "a" or "/a"), another tag, or text (group 2).
MARKUP_RE = re.compile(r"<(?:script\b.*?</script\s*>|style\b.*?</style\s*>|template\b.*?</template\s*>|!--.*?-->"
                       r"|(/?a)\b[^>]*>|[^>]*>)|([^<]+)", re.S | re.I)
TITLE_RE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.S | re.I)
SPACE_RE = re.compile(r"\s+")


# The ARTICLE_MARKERS in one pattern: one scan of the page's head finds any of them. (For these
# Chinese words the regex engine skips to their first characters: 2.7× faster than one ``in`` per
# marker, on the real pages that take this path. The lower-case ASCII ones are faster with ``in``.)
_ARTICLE_MARKERS_RE = re.compile("|".join(map(re.escape, ARTICLE_MARKERS)))


def challenge_reason(page: bytes | str, content_type: str | None = None, text: str | None = None) -> str | None:
    """Why this page (bytes as received, or decoded text) is a challenge, block or busy page, or None.

    ``text``: the bytes already decoded as ``decode_page(page, content_type)`` decodes them (a
    caller that has parsed the page has them: ``load_page``), so they are not decoded twice.
    """
    if isinstance(page, bytes):
        if binary_kind(page) is not None:
            return None
        if len(page) >= LONG_PAGE_BYTES and any(page.find(m, 0, SCAN_CHARS) >= 0 for m in ARTICLE_MARKER_BYTES):
            return None  # the fast path: an article page, not even decoded
        if text is None:
            text = decode_page(page, content_type).text
    else:
        text = page
    head = text[:SCAN_CHARS]
    has_marker = _ARTICLE_MARKERS_RE.search(head) is not None
    if has_marker and len(text) >= LONG_PAGE_CHARS:
        return None  # (before lower-casing 64 K characters: the markers of most such pages are in the text)
    lowered = head.lower()
    has_marker = has_marker or any(m in lowered for m in ARTICLE_MARKERS_LOWER)
    if has_marker and len(text) >= LONG_PAGE_CHARS:
        return None
    for name, token in SOURCE_TOKENS:
        if token in lowered:
            return f"{name}: {token}"
    if has_marker or lowered.count("<a ") > LINKS_MAX:
        return None
    text_outside_links = visible_lines(head, PAGE_TEXT_MAX)
    if text_outside_links is None:
        return None
    lines, visible_chars = text_outside_links
    if visible_chars <= JS_CHALLENGE_MAX_TEXT:
        scripts = " ".join(SCRIPT_RE.findall(head))
        if JS_COOKIE_RE.search(scripts) and JS_RELOAD_RE.search(scripts):
            return f"{JS_CHALLENGE}: a script sets a cookie and reloads"
    title = TITLE_RE.search(head)
    if title is not None:
        found = _first_match(TITLE_RULES, _clean(title.group(1)))
        if found is not None:
            return found
    for line in lines:
        if len(line) <= LINE_MAX_CHARS:
            found = _first_match(LINE_RULES, line)
            if found is not None:
                return found
    return None


def visible_lines(markup: str, max_chars: int) -> tuple[list[str], int] | None:
    """The visible text outside links (scripts, styles and comments left out), one entry per run
    of text, whitespace collapsed, and how many characters of visible text (links too) there are in
    all; None once that passes ``max_chars`` (read no further)."""
    lines, total, in_link = [], 0, False
    for match in MARKUP_RE.finditer(markup):
        link_tag, chunk = match.group(1, 2)
        if link_tag is not None:
            in_link = link_tag == "a" or link_tag == "A"
            continue
        if chunk is None or chunk.isspace():
            continue
        line = _clean(chunk)
        if line:
            total += len(line)
            if total > max_chars:
                return None
            if not in_link:
                lines.append(line)
    return lines, total


def _clean(chunk: str) -> str:
    return SPACE_RE.sub(" ", html.unescape(chunk)).strip()


def _first_match(rules: tuple[ChallengeRule, ...], text: str) -> str | None:
    for rule in rules:
        match = rule.pattern.search(text)
        if match is not None:
            return f"{rule.name}: {match.group(0)[:40]}"
    return None
