"""Labelling aid: print a corpus page as a reader sees it (meta tags, <title>, then its text lines).

Independent of the crawler's extraction on purpose, so gold is read off the page, not off our
output. ``python tests/realpages/show.py SLUG [--html]``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from lxml import html

HERE = Path(__file__).parent
BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "td", "th", "table", "ul", "ol",
          "section", "article", "header", "footer", "dd", "dt", "blockquote", "center", "br", "figcaption",
          "figure", "form", "hr"}
CHARSET_RE = re.compile(rb"charset\s*=\s*[\"']?([\w-]+)", re.I)


def decode(raw: bytes) -> str:
    declared = CHARSET_RE.search(raw[:4096])
    names = [declared.group(1).decode().lower()] if declared else []
    names = ["gb18030" if n in ("gb2312", "gbk") else n for n in names] + ["utf-8", "gb18030"]
    for name in names:
        try:
            return raw.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("utf-8", errors="replace")


def lines(root) -> list[str]:
    out: list[str] = []
    buf: list[str] = []

    def flush():
        text = " ".join("".join(buf).split())
        buf.clear()
        if text:
            out.append(text)

    def walk(el):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in ("script", "style", "noscript", "head", "template") or not tag:
            if el.tail:
                buf.append(el.tail)
            return
        if tag in BLOCKS:
            flush()
        if tag == "img":
            flush()
            out.append(f"[IMG {el.get('src') or el.get('data-src')} alt={el.get('alt')!r}]")
        if el.text:
            buf.append(el.text)
        for child in el:
            walk(child)
        if tag in BLOCKS:
            flush()
        if el.tail:
            buf.append(el.tail)

    walk(root)
    flush()
    return out


def main() -> None:
    slug = sys.argv[1].removesuffix(".html")
    raw = (HERE / "pages" / f"{slug}.html").read_bytes()
    text = decode(raw)
    if "--html" in sys.argv:
        print(text)
        return
    tree = html.fromstring(text.encode("utf-8"), parser=html.HTMLParser(encoding="utf-8"))
    for meta in tree.iter("meta"):
        key = meta.get("name") or meta.get("property") or meta.get("http-equiv")
        if key and meta.get("content"):
            print(f"META {key} = {meta.get('content')[:200]}")
    title = tree.find(".//title")
    print("TITLE", title.text_content().strip() if title is not None else None)
    body = tree.find("body")
    for number, line in enumerate(lines(body if body is not None else tree)):
        print(f"{number:4d} {line}")


if __name__ == "__main__":
    main()
