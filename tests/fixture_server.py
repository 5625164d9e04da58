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

# Opt-in challenge mode (FixtureSite.challenge, --challenge): pages a WAF or a busy CMS answers
# with status 200 in place of the page asked for.
CHALLENGE_PAGES: dict[str, bytes] = {
    # The CMS when overloaded.
    "busy": "<html><head><title>提示</title></head><body><div>系统繁忙，请稍后再试！</div></body></html>".encode(),
    # A rate limit, in GBK as the site's own pages.
    "rate_limited": ("<html><head><meta charset=\"gbk\"><title>访问受限</title></head><body>"
                     "<p>您的访问过于频繁，请稍后再试。</p></body></html>").encode("gbk"),
    # A JavaScript challenge: a script sets a cookie and reloads.
    "javascript": (b"<html><head><script>var s='a1b2';document.cookie='__jsl_check='+s+';path=/';"
                   b"location.reload();</script></head><body><noscript>\xe8\xaf\xb7\xe5\xbc\x80\xe5\x90\xaf"
                   b"JavaScript</noscript></body></html>"),
    # 安全狗's block page.
    "safedog": ("<html><head><title>网站防火墙</title></head><body><h3>您的请求带有不合法参数，已被网站管理员设置拦截！</h3>"
                "<p>可能原因：您提交的内容包含危险的攻击请求</p><a href=\"http://www.safedog.cn/\">安全狗</a>"
                "</body></html>").encode(),
    # Cloudflare's managed challenge.
    "cloudflare": (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                   b"<noscript>Enable JavaScript and cookies to continue</noscript>"
                   b"<script>window._cf_chl_opt={cvId:'3',cType:'managed'};</script></body></html>"),
}


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

    def challenge(self, path: str, kind: str = "busy", times: int = 1) -> None:
        """Answer the first ``times`` requests of ``path`` (0: every one) with the challenge page
        ``kind`` of CHALLENGE_PAGES, status 200; later ones get what ``path`` serves."""
        page = CHALLENGE_PAGES[kind]
        site = self

        def behaviour(handler: BaseHTTPRequestHandler, hits: int) -> None:
            with site._lock:
                resource = site.resources.get(path)
            if resource is None or not times or hits <= times:
                resource = Resource(200, {"Content-Type": "text/html"}, page)
            body = site.rewrite(resource)
            handler.send_response(resource.status)
            for name, value in resource.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        with self._lock:
            self.behaviours[path] = behaviour

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
    parser.add_argument("--challenge", choices=sorted(CHALLENGE_PAGES),
                        help="answer the first request of each article with this challenge page (status 200)")
    arguments = parser.parse_args()
    with FixtureSite() as site:
        if arguments.challenge:
            for case in load_cases("article"):
                site.challenge(case.meta["path"], arguments.challenge)
        print(site.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
