"""Shared helpers of the benchmarks: the mirror in a subprocess, measured subprocess runs, results."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "bench" / "results"

# Politeness off: the benchmarks measure us, not a delay.
IMPOLITE = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
            "-s", "CONCURRENT_REQUESTS=16", "-s", "ROBOTSTXT_OBEY=False", "-s", "LOG_LEVEL=INFO"]


@dataclass
class MirrorServer:
    process: subprocess.Popen
    base_url: str

    def stats(self) -> dict:
        with urllib.request.urlopen(self.base_url + "__stats", timeout=30) as answer:
            return json.load(answer)

    def reset(self) -> None:
        urllib.request.urlopen(self.base_url + "__reset", timeout=30).read()


@contextmanager
def mirror_server(articles: int, broken_footer_links: int = 0, port: int = 0) -> Iterator[MirrorServer]:
    """``python -m bench.mirror serve`` in a subprocess (its own core: not sharing our GIL); ``port`` 0:
    one the system picks."""
    process = subprocess.Popen([sys.executable, "-m", "bench.mirror", "serve", "--articles", str(articles),
                                "--broken-footer-links", str(broken_footer_links), "--port", str(port)],
                               cwd=PROJECT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(PROJECT)})
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError("the mirror did not start")
        yield MirrorServer(process, base_url)
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Measured:
    """A finished subprocess: exit code, wall time, CPU time and peak RSS (of that process alone)."""

    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_mb: float
    stderr_tail: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def run_measured(command: list[str], cwd: Path, timeout: float = 3600, env: dict | None = None) -> Measured:
    """Run a command; its rusage comes from ``os.wait4`` on its pid (ru_maxrss: its own peak RSS)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err,
                                   env={**os.environ, "PYTHONPATH": str(PROJECT), **(env or {})})
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-4000:].decode("utf-8", "replace")
    return Measured(process.returncode, wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024, tail)


def crawl_command(base_url: str, output_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "scrapy", "crawl", "sichuanpeace", "-a", f"base_url={base_url}",
            "-s", f"OUTPUT_DIR={output_dir}", *IMPOLITE, *extra]


def bare_command(base_url: str, output_file: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "scrapy", "runspider", str(PROJECT / "bench" / "bare_spider.py"),
            "-a", f"base_url={base_url}", "-O", str(output_file), *IMPOLITE,
            "-s", "TELNETCONSOLE_ENABLED=False", *extra]


def last_manifest(output_dir: Path) -> dict:
    """The last run's final manifest (manifests are ordered by their seq, README)."""
    finals = [m for m in (json.loads(p.read_text("utf-8")) for p in (output_dir / "runs").glob("*.json"))
              if m.get("final")]
    return max(finals, key=lambda m: m["seq"]) if finals else {}


def dir_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6 if path.exists() else 0.0


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for name in ("scrapy", "twisted", "lxml", "trafilatura", "gne"):
        try:
            from importlib.metadata import version
            versions[name] = version(name)
        except Exception:  # not installed
            continue
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": mem_gb, "os": platform.platform(), "versions": versions}


def save(name: str, result: dict, out: Path | None = None) -> Path:
    """Write ``result`` (+ machine) as JSON: ``--out`` or bench/results/<name>.json."""
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": name, "machine": machine(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              **result}
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    return path


def table(rows: list[list], header: list[str]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


@contextmanager
def scratch_dir(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)
