"""Decode page bytes by what the page declares: HTTP header charset, then BOM, then <meta>.

Pure functions, no Scrapy. The legacy CMS served GB2312 pages; GB2312 and GBK labels are decoded
as GB18030 (their superset), so characters such as 镕 in a page labelled GB2312 survive.
When the declared charset does not fit the bytes (a GBK page labelled utf-8), the page's own
<meta> declaration and then GB18030 are tried, and the record says which encoding was used.
"""

from __future__ import annotations

from dataclasses import dataclass

from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding

# Labels that mean "some Chinese national encoding": decode all of them with the superset.
CHINESE_LABELS = frozenset({"gb2312", "gbk", "gb18030", "cp936", "x-gbk", "euc-cn", "hz-gb-2312"})
# Share of U+FFFD characters in decoded text above which the declared charset is judged wrong.
MAX_REPLACEMENT_SHARE = 0.001


@dataclass(frozen=True)
class DecodedPage:
    """Page text plus the encoding the page declared and the one actually used."""

    text: str
    declared: str | None
    used: str


def _normalize_label(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower().replace("_", "-")
    return "gb18030" if label in CHINESE_LABELS else label


def _replacement_share(text: str) -> float:
    return text.count("\ufffd") / max(len(text), 1)


def _strict_decode(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_page(body: bytes, content_type: str | None = None) -> DecodedPage:
    """Decode HTML bytes: HTTP header charset, BOM, then meta; fall back when they do not fit."""
    header = http_content_type_encoding(content_type) if content_type else None
    meta = html_body_declared_encoding(body)
    declared = _normalize_label(header or meta)
    used, text = html_to_unicode(content_type, body, default_encoding="utf-8")
    used = _normalize_label(used) or "utf-8"
    if _replacement_share(text) <= MAX_REPLACEMENT_SHARE:
        return DecodedPage(text=text, declared=declared, used=used)
    # The declaration does not fit the bytes: try what else the page says, then the usual suspects.
    for candidate in (_normalize_label(meta), "utf-8", "gb18030"):
        if candidate and candidate != used:
            decoded = _strict_decode(body, candidate)
            if decoded is not None:
                return DecodedPage(text=decoded.lstrip("\ufeff"), declared=declared, used=candidate)
    return DecodedPage(text=text, declared=declared, used=used)

