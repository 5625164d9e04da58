"""Log retention: a crawl deletes, at its start and under the lock, the logs of the runs before the
newest ``LOG_RETENTION_RUNS`` (its own counted and never deleted), and nothing it did not name."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.run import logs
from tests.utils.crawl import run_crawl
from tests.utils.net import free_port

# Logs of earlier runs, oldest first, as their run ids (UTC start time, random suffix) name them.
EARLIER = [f"2026010{day}T000000Z-00000{day}" for day in range(1, 6)]
NOT_OURS = ["notes.log", "20260101T000000Z-000001.log.gz"]  # never the crawler's to delete


def seed(output_dir: Path) -> None:
    folder = output_dir / logs.LOGS_DIR
    folder.mkdir(parents=True)
    for name in [f"{run}.log" for run in EARLIER] + NOT_OURS:
        (folder / name).write_text("an earlier run\n", "utf-8")


def left(output_dir: Path) -> list[str]:
    return sorted(p.name for p in (output_dir / logs.LOGS_DIR).iterdir())


def test_a_crawl_deletes_the_logs_beyond_the_retention_and_keeps_its_own(tmp_path):
    seed(tmp_path)
    result = run_crawl(f"http://127.0.0.1:{free_port()}/", tmp_path, "-s", "LOG_RETENTION_RUNS=3")
    assert result.returncode == 4, result.log[-3000:]  # nothing answers: the run still ran, and logged
    own = [name for name in left(tmp_path) if name.endswith(".log") and name[:-4] not in EARLIER
           and name not in NOT_OURS]
    assert len(own) == 1 and "Deleted 3 log files of earlier runs (LOG_RETENTION_RUNS=3)" in result.log
    assert left(tmp_path) == sorted([*own, *(f"{run}.log" for run in EARLIER[-2:]), *NOT_OURS])


@pytest.mark.parametrize(("keep", "kept"), [(0, EARLIER), (1, []), (2, EARLIER[-1:]), (6, EARLIER), (99, EARLIER)])
def test_prune_keeps_the_newest_runs_and_never_the_current_one(tmp_path, keep, kept):
    seed(tmp_path)
    current = "20250101T000000Z-abcdef"  # sorts before every other: kept all the same
    (tmp_path / logs.LOGS_DIR / f"{current}.log").write_text("this run\n", "utf-8")
    logs.prune(tmp_path, current, keep)
    assert left(tmp_path) == sorted([f"{current}.log", *(f"{run}.log" for run in kept), *NOT_OURS])


def test_a_bad_retention_setting_exits_1(tmp_path):
    result = run_crawl(f"http://127.0.0.1:{free_port()}/", tmp_path, "-s", "LOG_RETENTION_RUNS=-1")
    assert result.returncode == 1 and "LOG_RETENTION_RUNS" in result.log
