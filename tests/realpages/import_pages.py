"""How the real-page corpus was assembled: copy saved pages, byte for byte, from public collections.

Run once, with local clones of the collections (``--from DIR`` holding one folder per collection,
named as below); it writes ``pages/<slug>.html`` and, for a page not yet labelled, a
``gold/<slug>.json`` holding its origin and the collection's own gold text (``draft_text``), which
the labeller replaces by the fields read off the page (README.md, "Gold").

    python tests/realpages/import_pages.py --from /tmp/corpus
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

HERE = Path(__file__).parent

# collection folder -> (repository, licence, [(path in the repository, slug)])
COLLECTIONS: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    # Chinese Web Content Extraction Dataset: raw pages as fetched (GBK kept), gold text in cleaned/.
    "immortal-autumn+Chinese-Web-Content-Extraction-Dataset": (
        "https://github.com/immortal-autumn/Chinese-Web-Content-Extraction-Dataset", "MIT", [
            (f"original/{name}.html", f"cwced-{name[:8]}") for name in (
                "500b350d", "d232c5df", "e8847578", "f70d9c97", "aefcf136", "36efbc69", "9890f458",
                "91bdf33e", "274a65d9", "3e1af229", "b26fbb82", "f51248cc", "c4d032a1", "d8d4c4ec",
                "47f387e6", "0d931936", "33a95b71", "2bac7fb2", "8baa71e3", "8cb7b39d", "5acac71b",
                "ecbe8d49", "7c6d2080", "ebe9df29", "a0cb0242", "3832838a", "c25d25c2", "93498c29",
                "4fa9dfe4", "0ef8393b")]),
    # magic-html's article benchmark: pages with their URL, gold text in base.json.
    "opendatalab+magic-html": (
        "https://github.com/opendatalab/magic-html", "Apache-2.0", [
            (f"benchmark/data/article/htmls/{name}", f"magic-{name[:8]}") for name in (
                "4e55eac42f", "452b8128ba", "b931df7065", "83bd4dfc1e", "14b709df54", "090704b0cb",
                "1e20e02712", "45fcfa7d67", "a28ede747c", "acce09a6bb", "9c642bd57e", "39dd62c5ba",
                "5da9b27b0b", "7f67d45fb1", "2dd9425ba6", "39ab22e747", "665b685780", "1f930df31e",
                "e751800204", "bb5f5ce0c7", "97a2a5818c", "8f8e788c3a", "ea5bdb58d6", "9055e5d5b8",
                "d997d758e1", "9af148c801", "2338d64a03", "777ddd63e0")]),
    # GeneralNewsExtractor's test pages (re-saved as UTF-8 by its authors), no gold.
    "kingname+GeneralNewsExtractor": (
        "https://github.com/kingname/GeneralNewsExtractor", "MIT", [
            (f"tests/{site}/1.html", f"gne-{site}") for site in (
                "gzggw", "shanxi", "sxmu", "zyyfy", "cjn", "people", "xinhuanet", "zsnews", "cjddsb", "gsc")
        ] + [("tests/qq/2.html", "gne-qq-2"), ("tests/thepaper/3.html", "gne-thepaper-3")]),
}


# The Chinese Web Content Extraction Dataset wraps some pages in a line of its own,
# ``<text id="URL" title="..." encoding="gbk">`` ... ``</text>``: not part of the page as served.
# It is removed (the page's bytes are otherwise kept as they are), and its id is the page's URL.
WRAPPER_RE = re.compile(rb'^\s*<text id="(?P<url>[^"]*)"[^>]*>\s*')
WRAPPER_END_RE = re.compile(rb"\s*</text>\s*$")


def unwrap(page: bytes) -> tuple[bytes, str | None]:
    """The page without the collection's ``<text>`` wrapper, and the URL the wrapper names."""
    match = WRAPPER_RE.match(page)
    if match is None:
        return page, None
    return WRAPPER_END_RE.sub(b"\n", page[match.end():]), match["url"].decode("utf-8", errors="replace")


def _resolve(clone: Path, path: str) -> Path:
    """A path given by a prefix of its file name (magic-html names pages by SHA-256)."""
    exact = clone / path
    if exact.exists():
        return exact
    stem = exact.name.removesuffix(".html")
    matches = sorted(exact.parent.glob(stem + "*"))
    if len(matches) != 1:
        raise SystemExit(f"{path}: {len(matches)} matches")
    return matches[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--from", dest="source", type=Path, required=True)
    args = parser.parse_args()
    for folder, (repository, licence, entries) in COLLECTIONS.items():
        clone = args.source / folder
        commit = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        magic_gold = {}
        if folder.startswith("opendatalab"):
            magic_gold = json.loads((clone / "benchmark/data/article/base.json").read_text("utf-8"))
        for path, slug in entries:
            found = _resolve(clone, path)
            relative = str(found.relative_to(clone))
            page, wrapper_url = unwrap(found.read_bytes())
            (HERE / "pages" / f"{slug}.html").write_bytes(page)
            gold_path = HERE / "gold" / f"{slug}.json"
            if gold_path.exists():
                if wrapper_url:  # the collection's own record of the URL beats a labeller's inference
                    gold = json.loads(gold_path.read_text("utf-8"))
                    if gold.get("url") != wrapper_url:
                        gold["url"], gold["url_known"] = wrapper_url, True
                        gold_path.write_text(json.dumps(gold, ensure_ascii=False, indent=1) + "\n", "utf-8")
                continue
            draft: dict[str, object] = {"origin": {"collection": folder.split("+", 1)[1], "repository": repository,
                                                   "path": relative, "commit": commit, "licence": licence}}
            if folder.startswith("immortal"):
                cleaned = clone / relative.replace("original/", "cleaned/").replace(".html", ".txt")
                draft["draft_text"] = cleaned.read_text("utf-8", errors="replace") if cleaned.exists() else None
                if wrapper_url:
                    draft["url"] = wrapper_url
            elif magic_gold:
                entry = magic_gold[found.stem]
                draft["url"] = entry["url"]
                draft["draft_text"] = entry["content"]
            gold_path.write_text(json.dumps(draft, ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
