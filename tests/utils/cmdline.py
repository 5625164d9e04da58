"""The project's real ``scrapy`` commands (crawl, export, runs, verify, parse, …) in a subprocess.

One place builds the command line and its environment: ``sys.executable -m scrapy`` run from the
project root with ``PYTHONPATH`` set to it, so a worktree's tests run that worktree's code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

PROJECT = Path(__file__).resolve().parent.parent.parent

# The local fixture site needs no politeness: no delay, no AutoThrottle.
NO_POLITENESS = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False")
# Politeness off, retries quick: what a test crawl of the local fixture site runs with.
FAST = (*NO_POLITENESS, "-s", "RETRY_BACKOFF_BASE=0.05")
# And the log file at INFO (the project's default is WARNING): what ``run_crawl`` runs with.
FAST_INFO = (*FAST, "-s", "LOG_LEVEL=INFO")


def project_env(**more: str) -> dict[str, str]:
    """This process's environment with ``PYTHONPATH`` the project root, and ``more``."""
    return {**os.environ, "PYTHONPATH": str(PROJECT), **more}


def scrapy_command(*args: str) -> list[str]:
    """``python -m scrapy args…`` with this interpreter."""
    return [sys.executable, "-m", "scrapy", *args]


def crawl_command(base_url: str, output_dir: Path | str, *args: str) -> list[str]:
    """``scrapy crawl sichuanpeace -a base_url=… -s OUTPUT_DIR=…`` and ``args``, as a subprocess runs it."""
    return scrapy_command("crawl", "sichuanpeace", "-a", f"base_url={base_url}", "-s", f"OUTPUT_DIR={output_dir}",
                          *args)


def run_command(command: list[str], *, timeout: float, cwd: Path = PROJECT, env: dict[str, str] | None = None,
                text: bool = True) -> subprocess.CompletedProcess:
    """``command`` run to its end from ``cwd`` (the project root), stdout and stderr captured."""
    return subprocess.run(command, cwd=cwd, env=project_env() if env is None else env, capture_output=True,
                          text=text, timeout=timeout)


def scrapy(*args: str, timeout: float = 120, cwd: Path = PROJECT, env: dict[str, str] | None = None,
           text: bool = True) -> subprocess.CompletedProcess:
    """The real ``scrapy args…`` of this project, run to its end (stdout and stderr captured)."""
    return run_command(scrapy_command(*args), timeout=timeout, cwd=cwd, env=env, text=text)


def crawl(base_url: str, output_dir: Path | str, *args: str, timeout: float = 300,
          text: bool = True) -> subprocess.CompletedProcess:
    """``scrapy crawl sichuanpeace`` of ``base_url`` into ``output_dir``, run to its end, exactly with
    ``args`` (no politeness settings added: pass ``FAST``); stdout and stderr captured."""
    return run_command(crawl_command(base_url, output_dir, *args), timeout=timeout, text=text)


def start_crawl(base_url: str, output_dir: Path | str, *args: str,
                stderr: int | IO[Any] | None = subprocess.PIPE) -> subprocess.Popen:
    """A crawl running in the background (stdout dropped, stderr kept unless told), for a test that
    signals or kills it."""
    return subprocess.Popen(crawl_command(base_url, output_dir, *args), cwd=PROJECT, env=project_env(),
                            stdout=subprocess.DEVNULL, stderr=stderr, text=True)


def scrapy_export(output_dir: Path | str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``scrapy export -s OUTPUT_DIR=… args…``."""
    return scrapy("export", "-s", f"OUTPUT_DIR={output_dir}", *args, timeout=timeout)


def scrapy_runs(output_dir: Path | str, *args: str) -> subprocess.CompletedProcess:
    """``scrapy runs -s OUTPUT_DIR=… args…``."""
    return scrapy("runs", "-s", f"OUTPUT_DIR={output_dir}", *args)


def scrapy_verify(*args: str) -> subprocess.CompletedProcess:
    """``scrapy verify args…``."""
    return scrapy("verify", *args)
