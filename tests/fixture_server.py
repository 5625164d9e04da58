"""The fixture site: serves tests/fixtures/<case>/ at each case's path on 127.0.0.1, port from the OS.

Absolute links to the real host inside served pages are rewritten onto the server's own address,
as a mirroring tool would, so the crawler's host rules treat them as on-site. Every request is
recorded, so tests can count what the crawler fetched. Run ``python -m tests.fixture_server`` to
serve it by hand; it prints its address.
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.fixture_cases import Case, load_cases

REAL_HOST_RE = re.compile(rb"(?:https?:)?//www\.sichuanpeace\.gov\.cn")


@dataclass
class Resource:
    status: int
    headers: dict[str, str]
    body: bytes


class FixtureSite:
    """A threaded HTTP server for the fixture cases; use as a context manager."""

    def __init__(self, cases: list[Case] | None = None):
        self.resources: dict[str, Resource] = {}
        # Paths answered by code instead of a resource (faulty responses): f(handler, hit number).
        self.behaviours: dict[str, Callable[[BaseHTTPRequestHandler, int], None]] = {}
        self.requests: list[str] = []
        self.request_times: list[float] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                path = urlsplit(self.path).path
                with site._lock:
                    site.requests.append(self.path)
                    site.request_times.append(time.time())
                    resource = site.resources.get(path)
                    behaviour = site.behaviours.get(path)
                    hits = sum(1 for p in site.requests if urlsplit(p).path == path)
                if behaviour is not None:
                    behaviour(self, hits)
                    return
                if resource is None:
                    resource = Resource(404, {"Content-Type": "text/html; charset=utf-8"},
                                        "<html><body>404 Not Found</body></html>".encode())
                body = site.rewrite(resource)
                self.send_response(resource.status)
                for name, value in resource.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        for case in cases if cases is not None else load_cases():
            self.put_case(case)

    def put_case(self, case: Case) -> None:
        """Serve a case at its path and aliases."""
        resource = Resource(case.meta.get("status", 200), dict(case.meta.get("headers", {})), case.body)
        for path in [case.meta["path"], *case.meta.get("aliases", [])]:
            self.put(path, resource)

    def put(self, path: str, resource: Resource | None) -> None:
        """Serve ``resource`` at ``path`` (None: remove it, so it answers 404)."""
        with self._lock:
            if resource is None:
                self.resources.pop(path, None)
            else:
                self.resources[path] = resource

    def rewrite(self, resource: Resource) -> bytes:
        if "html" not in resource.headers.get("Content-Type", ""):
            return resource.body
        return REAL_HOST_RE.sub(self.base_url.rstrip("/").encode(), resource.body)

    def request_counts(self) -> Counter[str]:
        """How often each path (without query) was requested."""
        with self._lock:
            return Counter(urlsplit(p).path for p in self.requests)

    def __enter__(self) -> FixtureSite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    with FixtureSite() as site:
        print(site.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
