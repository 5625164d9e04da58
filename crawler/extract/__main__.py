"""``python -m crawler.extract PAGE.html --url URL``: the record the crawl would emit for one saved page.

``-`` for PAGE reads the page from stdin (``curl -s URL | python -m crawler.extract - --url URL``). A
page that cannot be read is one line on stderr and exit code 1, as a page that is not an article is.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import extract_record
from .article import parse_article
from .challenge import challenge_reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.extract", description=__doc__)
    parser.add_argument("page", help="the saved page (raw bytes as served); - reads it from stdin")
    parser.add_argument("--url", required=True, help="the URL the page was served at")
    parser.add_argument("--content-type", help="the response's Content-Type header, if known")
    args = parser.parse_args(argv)
    try:
        body = sys.stdin.buffer.read() if args.page == "-" else Path(args.page).read_bytes()
    except OSError as error:
        print(f"{parser.prog}: cannot read {args.page}: {error.strerror or error}", file=sys.stderr)
        return 1
    headers = {"Content-Type": args.content_type} if args.content_type else None
    record = extract_record(body, args.url, headers)
    if record is None:
        reason = challenge_reason(body, args.content_type)
        if reason:
            reason = f"challenge page ({reason})"
        else:
            reason = parse_article(body, args.url, args.content_type).not_article_reason
        print(f"not an article: {reason}", file=sys.stderr)
        return 1
    json.dump(record, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
