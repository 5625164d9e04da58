"""Boilerplate cleaning of extracted blocks: blocks in, body + images + what was removed out.

Pure functions, no Scrapy; the clean pipeline calls ``clean_blocks`` and turns ``removed`` into
``clean/<rule>`` stats counters.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

from ..rules.boilerplate import IMAGE_FILENAME_RE, LINE_RULES, TEXT_FIXES
from ..rules.selectors import BYLINE_RE, CAPTION_MAX_CHARS, CONTENT_MARKS, HEADING_RE, SENTENCE_END
from .blocks import Block


@dataclass
class CleanedBody:
    """The article's body text, its images with captions, and what the rules removed."""

    body: str
    images: list[dict[str, str | None]]
    byline: str | None
    removed: Counter[str] = field(default_factory=Counter)


# Each text fix with its triggers split into substrings and patterns. A fix may change a block only
# when one of its triggers is in it (or it has none): tested inline below, without a method call and a
# type test per trigger and block.
_FIXES = tuple((fix, tuple(t for t in fix.triggers if isinstance(t, str)),
                tuple(t for t in fix.triggers if not isinstance(t, str))) for fix in TEXT_FIXES)


def clean_text(text: str, removed: Counter[str]) -> str:
    """Apply the text fixes to one block, counting each fix that changed something."""
    for fix, words, patterns in _FIXES:
        if words or patterns:  # cheap test first (its triggers): most blocks need no regex at all
            for word in words:
                if word in text:
                    break
            else:
                for pattern in patterns:
                    if pattern.search(text):
                        break
                else:
                    continue
        if fix.strip is not None:
            fixed = text.strip(fix.strip)
        else:
            assert fix.pattern is not None  # a TextFix strips its ends or replaces its pattern
            fixed = fix.pattern.sub(fix.replacement, text)
        if fixed != text:
            removed[fix.name] += 1
            text = fixed
    return text.strip()


# The line rules that apply to a text of at most each length (in their order), looked up with
# bisect: a block is only searched by the rules whose max_chars it fits. Each as (name, its
# pattern's search, its triggers): ~22 rules are asked of most blocks, and the attribute lookups
# and a generator per rule were a third of the cleaning.
_MAX_CHARS = sorted({rule.max_chars for rule in LINE_RULES})
_RULES_UP_TO = [tuple((rule.name, rule.pattern.search, rule.triggers) for rule in LINE_RULES if rule.max_chars >= limit)
                for limit in _MAX_CHARS]


def boilerplate_rule(text: str) -> str | None:
    """Name of the first line rule that drops this (already fixed) text, or None."""
    at = bisect_left(_MAX_CHARS, len(text))
    if at < len(_RULES_UP_TO):
        for name, search, triggers in _RULES_UP_TO[at]:
            if triggers:
                for trigger in triggers:
                    if trigger in text:
                        break
                else:
                    continue  # none of the substrings its every match holds: not searched
            if search(text) is not None:
                return name
    return None


# A line all of link text, this short and without prose punctuation, is dropped (``link_line``).
LINK_LINE_MAX_CHARS = 30
# Lines these rules remove may sit between an image and its caption (a spacer, the file's name).
CAPTION_TRANSPARENT_RULES = frozenset({"empty_paragraph", "image_filename"})


def _is_link_line(block: Block, text: str) -> bool:
    """A short line that is all link and no prose: a control or a promotion (在线荐稿 记者博客)."""
    return block.is_links and len(text) <= LINK_LINE_MAX_CHARS and not any(mark in text for mark in CONTENT_MARKS)


# A promotional headline or teaser link above the first paragraph: a line of link text in bold or in
# quotes (“…” 《…》 【…】), at most this long (``promo_link``).
PROMO_LINK_MAX_CHARS = 60
PROMO_QUOTES = (("“", "”"), ("\"", "\""), ("《", "》"), ("【", "】"), ("「", "」"), ("『", "』"))


def _is_promo_link(block: Block, text: str) -> bool:
    """A teaser: all link, bold or quoted, short (checked only before the body's first paragraph)."""
    return (block.is_links and len(text) <= PROMO_LINK_MAX_CHARS and not text.endswith(SENTENCE_END)
            and (block.is_strong or any(text.startswith(a) and text.endswith(b) for a, b in PROMO_QUOTES)))


def _is_caption(text: str) -> bool:
    return (len(text) <= CAPTION_MAX_CHARS and not text.endswith(SENTENCE_END)
            and not BYLINE_RE.match(text) and not HEADING_RE.match(text))


def clean_blocks(blocks: list[Block]) -> CleanedBody:
    """Clean text, drop boilerplate lines, attach captions to images, join paragraphs with '\\n'."""
    removed: Counter[str] = Counter()
    paragraphs: list[str] = []
    images: list[dict[str, str | None]] = []
    awaiting_caption: dict[str, str | None] | None = None
    seen_images: set[str] = set()
    for block in blocks:
        if block.is_image:
            assert block.src is not None
            if block.src in seen_images:
                continue
            seen_images.add(block.src)
            awaiting_caption = {"url": block.src, "caption": None}
            images.append(awaiting_caption)
            continue
        text = clean_text(block.text, removed)
        rule = boilerplate_rule(text) or ("link_line" if _is_link_line(block, text) else None) or (
            "promo_link" if not paragraphs and _is_promo_link(block, text) else None)
        if rule is not None:
            removed[rule] += 1
            if rule not in CAPTION_TRANSPARENT_RULES:
                awaiting_caption = None  # the line under an image was boilerplate: what follows is body
            continue
        if (awaiting_caption is not None and block.by_image and _is_caption(text) and not block.is_strong
                and not IMAGE_FILENAME_RE.search(text)):
            awaiting_caption["caption"] = text
            awaiting_caption = None
            continue
        awaiting_caption = None
        paragraphs.append(text)
    byline = paragraphs[-1] if paragraphs and BYLINE_RE.match(paragraphs[-1]) else None
    return CleanedBody(body="\n".join(paragraphs), images=images, byline=byline, removed=removed)
