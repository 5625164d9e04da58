"""``python -m crawler.extract PAGE.html --url URL``: the record the crawl would emit for one saved page."""

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
    parser.add_argument("page", type=Path, help="the saved page (raw bytes as served)")
    parser.add_argument("--url", required=True, help="the URL the page was served at")
    parser.add_argument("--content-type", help="the response's Content-Type header, if known")
    args = parser.parse_args(argv)
    body = args.page.read_bytes()
    headers = {"Content-Type": args.content_type} if args.content_type else None
    record = extract_record(body, args.url, headers)
    if record is None:
        reason = challenge_reason(body, args.content_type)
        reason = f"challenge page ({reason})" if reason else parse_article(body, args.url, args.content_type).not_article_reason
        print(f"not an article: {reason}", file=sys.stderr)
        return 1
    json.dump(record, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
