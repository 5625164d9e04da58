"""Extraction quality per run, and template drift against earlier complete runs of the same site.

The worst failure of a long-lived crawler is extraction that quietly degrades when the site's
template changes. Each extracted article adds to ``quality/*`` stats (per extractor, and how often
each field was found); the run report turns them into shares, compares them with the mean of the
baseline (:func:`drift_baseline`: the last complete runs of the same site and scope that did not
drift themselves) and flags drift past the thresholds below. Drifted runs never join the baseline,
so the alarm keeps ringing on every run until extraction is back, instead of falling silent once
the drifted runs outweigh the good ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.statscollectors import StatsCollector

from .extract.article import EXTRACTOR_FALLBACK, RawArticle

# Fields whose coverage (share of articles where it was found) is watched.
COVERAGE_FIELDS = ("title", "published_at", "source", "editor", "images")
# Drift thresholds, absolute changes of a share (0..1) against the baseline mean.
MAX_FALLBACK_SHARE_RISE = 0.25
MAX_COVERAGE_DROP = 0.25
# The mean body length may not fall below this share of the baseline's.
MIN_BODY_CHARS_RATIO = 0.5
# How many earlier runs form the baseline (complete, same site and scope, no drift), and how many
# articles a run needs to count: a smaller run (a recheck of a few older articles, say) reads
# whichever articles its turn drew, and their coverage can differ from the site's by chance
# (8 of the fixture site's 21, rechecked by RECHECK_BUDGET=8, drifted once in a test run).
BASELINE_RUNS = 5
MIN_ARTICLES = 10


def record_quality(stats: StatsCollector, raw: RawArticle) -> None:
    """Count one extracted article into the run's quality stats."""
    stats.inc_value("quality/articles")
    stats.inc_value(f"quality/extractor/{raw.extractor}")
    found = {
        "title": bool(raw.title),
        "published_at": raw.published_at_source == "page",
        "source": bool(raw.source),
        "editor": bool(raw.editor),
        "images": any(block.is_image for block in raw.blocks),
    }
    for name, present in found.items():
        if present:
            stats.inc_value(f"quality/found/{name}")
    stats.inc_value("quality/body_chars", sum(len(b.text) for b in raw.blocks))
    for flag in raw.quality_flags:  # what extraction doubts (RawArticle.quality_flags)
        stats.inc_value(f"quality/flag/{flag}")


def summarize(stats: dict[str, Any]) -> dict[str, Any]:
    """Shares per extractor and per field, and mean body length, from the run's stats."""
    articles = stats.get("quality/articles", 0)
    if not articles:
        return {"articles": 0}
    extractors = {k.split("/", 2)[2]: v for k, v in stats.items() if k.startswith("quality/extractor/")}
    return {
        "articles": articles,
        "by_extractor": extractors,
        "fallback_share": round(extractors.get(EXTRACTOR_FALLBACK, 0) / articles, 4),
        "coverage": {name: round(stats.get(f"quality/found/{name}", 0) / articles, 4) for name in COVERAGE_FIELDS},
        "body_chars_mean": round(stats.get("quality/body_chars", 0) / articles, 1),
        # Articles per quality flag (short_body: the body much shorter than the page's main prose).
        "flags": {k.split("/", 2)[2]: v for k, v in stats.items() if k.startswith("quality/flag/")},
    }


def drift_baseline(final_manifests: Iterable[dict[str, Any]], site: str | None,
                   channels: list[str] | None) -> list[dict[str, Any]]:
    """The quality summaries drift is measured against, oldest first: from earlier runs' final
    manifests (newest first; read only as far as needed), those of ``site`` over the same
    ``channels`` that were complete, did not drift and had at least MIN_ARTICLES articles.

    Another site's runs (a sister site of the family, another mirror) have another template; a
    drifted run is the change itself, and counting it would soon make the changed template normal.
    """
    found: list[dict[str, Any]] = []
    for manifest in final_manifests:
        if len(found) == BASELINE_RUNS:
            break
        if (may_be_baseline(manifest) and manifest.get("site") == site
                and (manifest.get("scope") or {}).get("channels") == channels):
            found.append(manifest["quality"])
    return found[::-1]


def may_be_baseline(manifest: dict[str, Any]) -> bool:
    """Whether a run (its final manifest) may join the baseline of its site and scope: complete,
    undrifted, with at least MIN_ARTICLES articles (the state store's baseline index asks this too)."""
    quality = manifest.get("quality") or {}
    return bool(manifest.get("final") and manifest.get("complete") and not manifest.get("drift")
                and quality.get("articles", 0) >= MIN_ARTICLES)


def detect_drift(current: dict[str, Any], baseline_runs: list[dict[str, Any]]) -> list[str]:
    """What moved past a threshold against the mean of earlier runs' quality summaries."""
    baseline = [q for q in baseline_runs if q.get("articles", 0) >= MIN_ARTICLES][-BASELINE_RUNS:]
    if current.get("articles", 0) < MIN_ARTICLES or not baseline:
        return []

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    findings = []
    fallback_before = mean([q["fallback_share"] for q in baseline])
    if current["fallback_share"] - fallback_before > MAX_FALLBACK_SHARE_RISE:
        findings.append(f"fallback share {current['fallback_share']:.2f} (before {fallback_before:.2f})")
    for name in COVERAGE_FIELDS:
        before = mean([q["coverage"][name] for q in baseline])
        if before - current["coverage"][name] > MAX_COVERAGE_DROP:
            findings.append(f"{name} coverage {current['coverage'][name]:.2f} (before {before:.2f})")
    body_before = mean([q["body_chars_mean"] for q in baseline])
    if body_before and current["body_chars_mean"] < MIN_BODY_CHARS_RATIO * body_before:
        findings.append(f"mean body length {current['body_chars_mean']:.0f} (before {body_before:.0f})")
    return findings
