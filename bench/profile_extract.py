"""Profile of the per-page path (load_page + parse_article + clean_blocks + parse_listing) with pyinstrument.

``python -m bench.profile_extract --articles 300`` prints the call tree and writes
bench/results/profile_extract.txt (and .html with --html). Also prints the top functions by own time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import RESULTS
from bench.extraction import BASE, CTYPE, ours
from bench.mirror import generate_article


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the pages (more samples)")
    parser.add_argument("--html", action="store_true", help="also write an HTML flame view")
    parser.add_argument("--out", type=Path, default=RESULTS / "profile_extract.txt")
    args = parser.parse_args(argv)
    from pyinstrument import Profiler

    pages = [generate_article(k, args.articles, BASE) for k in range(args.articles)]
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(args.repeat):
        for page in pages:
            ours(page.html, BASE + page.meta.path, CTYPE, BASE + "/", links=True)
    profiler.stop()
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, "utf-8")
    if args.html:
        args.out.with_suffix(".html").write_text(profiler.output_html(), "utf-8")

    # Own ("self") time per function, from the session's frame tree.
    own: dict[str, float] = {}

    def walk(frame, parent_key: str) -> None:
        if frame.is_synthetic:  # "[self]" leaves: already in the parent's total_self_time
            return
        key = f"{frame.function} ({Path(frame.file_path or '?').name}:{frame.line_no})"
        own[key] = own.get(key, 0.0) + frame.total_self_time
        for child in frame.children:
            walk(child, key)
    session = profiler.last_session
    root = session.root_frame() if session is not None else None
    if root is None:
        raise SystemExit("pyinstrument recorded no samples: nothing to profile")
    walk(root, "<root>")
    total = root.time
    print(text)
    print("Top functions by own time:")
    for key, seconds in sorted(own.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {100 * seconds / total:5.1f}%  {key}")
    print(f"\nprofile: {args.out}")


if __name__ == "__main__":
    main()
