"""Shared fixtures (the fixture site on 127.0.0.1, a redis-server) and the quick tier's marking.

The helpers the tests call (running ``scrapy crawl`` and the other commands, reading a run) are in
``tests/utils/``."""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import socket
import subprocess
import time

import pytest

from tests.fixture_server import FixtureSite
from tests.utils.net import free_port


@pytest.fixture
def site():
    with FixtureSite() as running:
        yield running


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of the test's own on 127.0.0.1 (no persistence), stopped after it."""
    if not shutil.which("redis-server"):
        if os.environ.get("CI"):
            raise RuntimeError("redis-server is not installed: .ci/run installs it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


# --- The quick tier (`python3 -m pytest -m quick`, the edit loop) ---------------------------------
# A test is end-to-end when it or one of its fixtures starts something: a fixture site, a crawl, a
# redis-server, any subprocess. Every other test is marked `quick`. Decided here, from the code
# itself, so that a new test lands in the right tier without anyone listing it.
E2E_WORDS = ("run_crawl", "FixtureSite", "BadSite", "subprocess", "redis_url", "Popen", "run_in_terminal",
             "crawl_command", "CrawlerProcess")


@functools.cache
def _starts_something(function: object) -> bool:
    """Whether ``function``'s source, or that of a function of the tests or bench it calls by name
    (``scrapy(…)``, ``run_bench(…)``, and so on down), holds one of E2E_WORDS."""
    seen, todo = set(), [function]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            source = inspect.getsource(current)  # type: ignore[arg-type]  # a module or a function
        except (OSError, TypeError):
            continue
        if any(word in source for word in E2E_WORDS):
            return True
        code, scope = getattr(current, "__code__", None), getattr(current, "__globals__", {})
        todo += [f for name in (code.co_names if code is not None else ()) if inspect.isfunction(f := scope.get(name))
                 and f.__module__.split(".")[0] in ("tests", "bench")]
    return False


# --- Shared crawls made once (pytest-xdist `--dist loadgroup`, pyproject.toml) ---------------------
# A module-scoped fixture that starts something (an end-to-end crawl several tests only read) is made
# once per worker that runs a test needing it. So the tests that need one go to one worker, as a group
# named for their module; every other test is handed to whichever worker is free.
def _shared_crawls(item: pytest.Item) -> bool:
    """Whether ``item`` asks, itself or through its fixtures, for a module-scoped fixture of the tests
    that starts something."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    seen: set[str] = set()
    todo = list(info.argnames)
    while todo:
        name = todo.pop()
        if name in seen or name not in info.name2fixturedefs:
            continue
        seen.add(name)
        definition = info.name2fixturedefs[name][-1]
        if (definition.scope == "module" and definition.func.__module__.split(".")[0] == "tests"
                and _starts_something(definition.func)):
            return True
        todo += definition.argnames
    return False


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _shared_crawls(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
        functions = [getattr(item, "function", None)]
        fixture_info = getattr(item, "_fixtureinfo", None)
        if fixture_info is not None:
            functions += [d.func for defs in fixture_info.name2fixturedefs.values() for d in defs]
        if not any(f is not None and _starts_something(f) for f in functions):
            item.add_marker(pytest.mark.quick)
