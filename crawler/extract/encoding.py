"""Decode page bytes by what the page declares, and check that the declaration fits the bytes.

Pure functions, no Scrapy. Order: BOM, HTTP header charset, <meta> charset (searched well past the
first 4 KB, since some pages put kilobytes of scripts first), then UTF-8, then GB18030. A candidate
is used only if it decodes the bytes strictly (a sequence cut off by a truncated body is tolerated)
and does not look like mojibake. GB2312 and GBK labels are decoded as GB18030, their superset, so
characters such as 镕, 喆, 堃 in a page labelled GB2312 survive. Bytes that are valid UTF-8 are
decoded as UTF-8 even when labelled GB2312/GBK (GB18030 would decode them, wrongly, without error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

# Labels that mean "some Chinese national encoding": decode all of them with the superset.
CHINESE_LABELS = frozenset({"gb2312", "gbk", "gb18030", "cp936", "x-gbk", "euc-cn", "hz-gb-2312", "gb_2312-80"})
# Single-byte labels servers send by default; they decode anything, so they are checked for mojibake.
SINGLE_BYTE_LABELS = frozenset({"iso-8859-1", "latin-1", "latin1", "cp1252", "windows-1252", "ascii", "us-ascii"})
# How far into the page a <meta charset> is looked for.
META_SEARCH_BYTES = 64 * 1024
META_CHARSET_RE = re.compile(rb"<meta[^>]{0,300}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]{2,40})", re.I)
# UTF-8 bytes read as Latin-1/cp1252 (a lead byte À-ÿ then a continuation byte, which cp1252 shows
# as \x80-\xbf or as one of its C1 replacements such as œ • €), or GBK read so (runs of ¡-ÿ).
_CP1252_C1 = ("\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e"
              "\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122")
# × ÷ · are left out: court and police articles mask ID numbers as 5101××××1234.
_LATIN1_LETTER = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff"
MOJIBAKE_RE = re.compile(f"[{_LATIN1_LETTER}][\u0080-\u00b6\u00b8-\u00bf{_CP1252_C1}]"
                         f"|[{_LATIN1_LETTER}\u00a1-\u00b6]{{4,}}")
MOJIBAKE_MIN_HITS = 3
# How many bytes at the end may be a character cut off by a truncated body.
TRUNCATION_TOLERANCE = 4


@dataclass(frozen=True)
class DecodedPage:
    """Page text plus the encoding the page declared and the one actually used."""

    text: str
    declared: str | None
    used: str
    # The bytes that decode to ``text`` exactly (BOM removed), or None when the text had to be
    # truncated or repaired: a parser may then read these bytes itself, in ``used``.
    exact: bytes | None = None


def normalize_label(label: str | None) -> str | None:
    """Lower-case codec label; Chinese national encodings map to gb18030."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower().replace("_", "-")
    if label in CHINESE_LABELS or label.replace("-", "") in CHINESE_LABELS:
        return "gb18030"
    if label in ("utf8", "utf-8", "unicode-1-1-utf-8"):
        return "utf-8"
    return label


def meta_charset(body: bytes) -> str | None:
    """The charset a <meta> tag declares, searched in the first META_SEARCH_BYTES bytes."""
    found = html_body_declared_encoding(body)
    if found:
        return found
    match = META_CHARSET_RE.search(body[:META_SEARCH_BYTES])
    return match.group(1).decode("ascii") if match else None


# Every MOJIBAKE_RE match holds one of these (both its branches need a Latin-1 letter or sign):
# Chinese text has none (its “” — … are not among them), and is cleared by one quick scan.
_MOJIBAKE_CHARS_RE = re.compile(f"[{_LATIN1_LETTER}\u00a1-\u00b6]")


def looks_like_mojibake(text: str) -> bool:
    """True for text with runs of Latin-1 characters where Chinese should be."""
    if not _MOJIBAKE_CHARS_RE.search(text):
        return False
    return any(hits >= MOJIBAKE_MIN_HITS for hits, _ in enumerate(MOJIBAKE_RE.finditer(text), start=1))


def _strict_decode(body: bytes, encoding: str) -> tuple[str, bool] | None:
    """The text, and whether it is the whole body (False: a cut-off last character was dropped)."""
    try:
        return body.decode(encoding), True
    except LookupError:
        return None
    except UnicodeDecodeError as error:
        if error.start < len(body) - TRUNCATION_TOLERANCE:
            return None
        try:  # a character cut off by a truncated body: drop its first bytes
            return body[: error.start].decode(encoding), False
        except UnicodeDecodeError:
            return None


def _is_valid_utf8(body: bytes) -> bool:
    return not body[:65536].isascii() and _strict_decode(body, "utf-8") is not None


def decode_page(body: bytes, content_type: str | None = None) -> DecodedPage:
    """Decode HTML bytes: BOM, HTTP header, meta, then UTF-8 and GB18030; never silently garbled."""
    bom_label, bom = read_bom(body)
    header = normalize_label(http_content_type_encoding(content_type) if content_type else None)
    meta = normalize_label(meta_charset(body))
    declared = normalize_label(bom_label) or header or meta
    if bom:
        body = body[len(bom):]
    candidates: list[str] = []
    for label in (normalize_label(bom_label), header, meta, "utf-8", "gb18030"):
        if label and label not in candidates and _codec_exists(label):
            candidates.append(label)
    if not bom_label and candidates[0] == "gb18030" and _is_valid_utf8(body):
        candidates.insert(0, "utf-8")  # GB18030 would decode UTF-8 bytes without error, wrongly
    for label in candidates:
        decoded = _strict_decode(body, label)
        if decoded is None:
            continue
        text, whole = decoded
        if label in SINGLE_BYTE_LABELS and looks_like_mojibake(text):
            continue
        return DecodedPage(text=text, declared=declared, used=label, exact=body if whole else None)
    # Nothing fits: decode with replacement; the validator keeps such text out of the records.
    return DecodedPage(text=body.decode(candidates[0], errors="replace"), declared=declared, used=candidates[0])


def _codec_exists(label: str) -> bool:
    try:
        b"".decode(label)
    except LookupError:
        return False
    return True
