"""The bad-input site: the fixture site plus a channel /bad/ of faulty pages and responses.

Each ``BadCase`` is one URL with the response it gets and what the crawl must make of it: a record
(with the right title) or the accounting bucket it must land in.
"""

from __future__ import annotations

import contextlib
import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from w3lib.url import safe_url_string

from tests.fixture_server import FixtureSite, Resource

UTF8 = "text/html; charset=utf-8"
GOOD_BODY = ("　　政法队伍教育整顿开展期间，全市干警违纪违法问题查处工作名列全省前茅，群众满意度大幅提升。",
             "　　朱镕基、王喆、李堃等同志参加了会议，会议要求持续巩固深化教育整顿成果。")


def article_html(title: str, charset_meta: str | None = "utf-8", prefix: str = "", extra: str = "") -> str:
    """A current-template article page."""
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset_meta}">' if charset_meta else ""
    paragraphs = "".join(f"<p>{p}</p>" for p in GOOD_BODY)
    return (f"<html><head>{prefix}{meta}<title>{title}_四川长安网</title></head><body>"
            f"<div>您的位置:首页 &gt; 坏页面 &gt;</div><h1 class=\"title\">{title}</h1>"
            f"<div class=\"info\">www.sichuanpeace.gov.cn 】 【 2026-11-20 09:30:00 】 【 来源:四川法治报</div>"
            f"<div id=\"content\">{paragraphs}{extra}</div><div>编辑:张三</div>"
            f"<p>蜀ICP备13011412号-1 四川长安网版权所有</p></body></html>")


@dataclass
class BadCase:
    name: str
    path: str
    expect_title: str | None = None      # a record with this title must come out
    expect_bucket: str | None = None     # else: the attempt must land in this bucket
    resource: Resource | None = None
    behaviour: Callable[[BaseHTTPRequestHandler, int], None] | None = None  # for faulty responses
    linked: bool = True                  # listed on /bad/index.html


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"",
          headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {"Content-Type": UTF8}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _ok(title: str):
    return Resource(200, {"Content-Type": UTF8}, article_html(title).encode())


def _fail_then(status: int, good: Resource, failures: int, headers: dict[str, str] | None = None):
    def behaviour(handler: BaseHTTPRequestHandler, hits: int) -> None:
        if hits <= failures:
            _send(handler, status, b"<html><body>busy</body></html>", {"Content-Type": UTF8, **(headers or {})})
        else:
            _send(handler, good.status, good.body, good.headers)
    return behaviour


def _always(status: int, headers: dict[str, str] | None = None):
    return lambda handler, hits: _send(handler, status, b"<html><body>error</body></html>",
                                       {"Content-Type": UTF8, **(headers or {})})


SUBDOMAIN_OF_ADDRESS = "http://sub.127.0.0.1/x.html"


def _parses(url: str) -> bool:
    try:
        safe_url_string(url)
    except ValueError:
        return False
    return True


# Whether this w3lib takes the URL at all (2.6 does not): the bucket it lands in depends on it.
SUBDOMAIN_OF_ADDRESS_PARSES = _parses(SUBDOMAIN_OF_ADDRESS)


def _redirect(location: str):
    return lambda handler, hits: _send(handler, 302, b"", {"Location": location, "Content-Type": UTF8})


def _redirect_to_localhost(path: str):
    """A redirect to this same server under the name ``localhost``: the same machine, another host."""
    return lambda handler, hits: _send(handler, 302, b"", {
        "Location": f"http://localhost:{handler.server.server_address[1]}{path}", "Content-Type": UTF8})


def _sleep_then(seconds: float, good: Resource):
    def behaviour(handler: BaseHTTPRequestHandler, hits: int) -> None:
        time.sleep(seconds)
        with contextlib.suppress(OSError):  # the crawler gave up waiting
            _send(handler, good.status, good.body, good.headers)
    return behaviour


def _drop_mid_body(handler: BaseHTTPRequestHandler, hits: int) -> None:
    body = article_html("连接中断的文章").encode()
    handler.send_response(200)
    handler.send_header("Content-Type", UTF8)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body[: len(body) // 2])
    handler.wfile.flush()
    handler.close_connection = True
    handler.connection.shutdown(2)


GBK_PAGE = article_html("编码标错的文章", "gb2312").encode("gbk")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MOJIBAKE_PAGE = article_html("乱码文章").encode("utf-8").decode("latin-1").encode("utf-8")


def bad_cases(oversize_limit: int) -> list[BadCase]:
    """Every faulty case, served under /bad/ (article-shaped URLs unless said otherwise)."""
    long_chain = [f"/bad/20261120/32001{i:02d}.html" for i in range(8)]
    cases = [
        # --- encodings: a record, correctly decoded -------------------------------------------
        BadCase("gbk labelled utf-8 in the header", "/bad/20261120/3200001.html", expect_title="编码标错的文章",
                resource=Resource(200, {"Content-Type": UTF8}, GBK_PAGE)),
        BadCase("meta charset after 5 KB of script", "/bad/20261120/3200002.html", expect_title="脚本之后的声明",
                resource=Resource(200, {"Content-Type": "text/html"}, article_html(
                    "脚本之后的声明", "gb2312", prefix="<script>" + "var x = 1;\n" * 600 + "</script>").encode("gbk"))),
        BadCase("GBK-only characters in a GB2312 page", "/bad/20261120/3200003.html", expect_title="镕喆堃",
                resource=Resource(200, {"Content-Type": "text/html; charset=gb2312"},
                                  article_html("镕喆堃", "gb2312").encode("gbk"))),
        BadCase("no declaration at all (GBK bytes)", "/bad/20261120/3200004.html", expect_title="没有声明的文章",
                resource=Resource(200, {"Content-Type": "text/html"},
                                  article_html("没有声明的文章", None).encode("gbk"))),
        BadCase("UTF-8 BOM with a conflicting meta", "/bad/20261120/3200005.html", expect_title="带BOM的文章",
                resource=Resource(200, {"Content-Type": "text/html"},
                                  b"\xef\xbb\xbf" + article_html("带BOM的文章", "gb2312").encode("utf-8"))),
        BadCase("UTF-8 page labelled iso-8859-1", "/bad/20261120/3200006.html", expect_title="拉丁标签的文章",
                resource=Resource(200, {"Content-Type": "text/html; charset=iso-8859-1"},
                                  article_html("拉丁标签的文章").encode())),
        BadCase("mojibake stored in the page itself", "/bad/20261120/3200007.html", expect_bucket="parse_failure",
                resource=Resource(200, {"Content-Type": UTF8}, MOJIBAKE_PAGE)),
        # --- broken bodies --------------------------------------------------------------------
        BadCase("HTML cut mid-tag", "/bad/20261120/3200010.html", expect_title="截断的文章",
                resource=Resource(200, {"Content-Type": UTF8},
                                  article_html("截断的文章").encode().split("<div>编辑".encode())[0] + b"<div cla")),
        BadCase("HTML cut mid-character", "/bad/20261120/3200011.html", expect_title="截断字符的文章",
                resource=Resource(200, {"Content-Type": UTF8},
                                  article_html("截断字符的文章").encode().split("<div>编辑".encode())[0]
                                  + "政".encode()[:2])),
        BadCase("empty body", "/bad/20261120/3200012.html", expect_bucket="unreadable",
                resource=Resource(200, {"Content-Type": UTF8}, b"")),
        BadCase("page over the size limit", "/bad/20261120/3200013.html", expect_bucket="oversize",
                resource=Resource(200, {"Content-Type": UTF8},
                                  article_html("超大页面", extra="<p>" + "大" * oversize_limit + "</p>").encode())),
        BadCase("gzip bomb", "/bad/20261120/3200014.html", expect_bucket="oversize",
                resource=Resource(200, {"Content-Type": UTF8, "Content-Encoding": "gzip"},
                                  gzip.compress(b"<html>" + b" " * (oversize_limit * 20)))),
        BadCase("PDF served at an article URL", "/bad/20261120/3200015.html", expect_bucket="unreadable",
                resource=Resource(200, {"Content-Type": "application/pdf"}, PDF)),
        BadCase("PDF mislabelled text/html", "/bad/20261120/3200016.html", expect_bucket="unreadable",
                resource=Resource(200, {"Content-Type": UTF8}, PDF)),
        BadCase("image served at an article URL", "/bad/20261120/3200017.html", expect_bucket="unreadable",
                resource=Resource(200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff\xe0" + b"\x00" * 64)),
        # --- HTTP errors and WAFs -------------------------------------------------------------
        BadCase("404", "/bad/20261120/3200020.html", expect_bucket="http_error", behaviour=_always(404)),
        BadCase("410", "/bad/20261120/3200021.html", expect_bucket="http_error", behaviour=_always(410)),
        BadCase("500 retried, then given up", "/bad/20261120/3200022.html", expect_bucket="retries_exhausted",
                behaviour=_always(500)),
        BadCase("429 with Retry-After, then OK", "/bad/20261120/3200023.html", expect_title="限流后的文章",
                behaviour=_fail_then(429, _ok("限流后的文章"), 1, {"Retry-After": "1"})),
        BadCase("412 WAF challenge, then OK", "/bad/20261120/3200024.html", expect_title="防火墙后的文章",
                behaviour=_fail_then(412, _ok("防火墙后的文章"), 1)),
        BadCase("521 WAF, always", "/bad/20261120/3200025.html", expect_bucket="retries_exhausted",
                behaviour=_always(521)),
        BadCase("timeout", "/bad/20261120/3200026.html", expect_bucket="retries_exhausted",
                behaviour=_sleep_then(4, _ok("超时的文章"))),
        BadCase("slow server, within the timeout", "/bad/20261120/3200027.html", expect_title="慢速的文章",
                behaviour=_sleep_then(0.5, _ok("慢速的文章"))),
        BadCase("connection dropped mid-body", "/bad/20261120/3200028.html", expect_bucket="truncated",
                behaviour=_drop_mid_body),
        # --- redirects and soft 404s ----------------------------------------------------------
        BadCase("redirect loop", "/bad/20261120/3200070.html", expect_bucket="duplicate",
                behaviour=_redirect("/bad/20261120/3200071.html")),
        BadCase("redirect loop, second hop", "/bad/20261120/3200071.html", linked=False,
                behaviour=_redirect("/bad/20261120/3200070.html")),
        BadCase("redirect chain longer than REDIRECT_MAX_TIMES", long_chain[0], expect_bucket="redirect_dropped",
                behaviour=_redirect(long_chain[1])),
        *[BadCase(f"chain hop {i}", hop, behaviour=_redirect(nxt), linked=False)
          for i, (hop, nxt) in enumerate(zip(long_chain[1:], long_chain[2:] + ["/"], strict=True), start=1)],
        BadCase("meta refresh to an article", "/bad/20261120/3200030.html", expect_title="跳转后的文章",
                resource=Resource(200, {"Content-Type": UTF8},
                                  b'<html><head><meta http-equiv="refresh" content="0;url=/bad/20261120/3200031.html">'
                                  b"</head><body></body></html>")),
        BadCase("meta refresh target", "/bad/20261120/3200031.html", resource=_ok("跳转后的文章"), linked=False),
        BadCase("soft 404: 页面不存在", "/bad/20261120/3200040.html", expect_bucket="soft_404",
                resource=Resource(200, {"Content-Type": UTF8},
                                  "<html><body><div>对不起，页面不存在！</div></body></html>".encode())),
        BadCase("soft 404: 您访问的页面已删除", "/bad/20261120/3200041.html", expect_bucket="soft_404",
                resource=Resource(200, {"Content-Type": UTF8},
                                  "<html><body><p>您访问的页面已删除</p></body></html>".encode())),
        BadCase("soft 404: a 404 title", "/bad/20261120/3200042.html", expect_bucket="soft_404",
                resource=Resource(200, {"Content-Type": UTF8},
                                  b"<html><head><title>404 Not Found</title></head><body>x</body></html>")),
        # --- redirects out of scope: an article's is a failure, kept pending; a list page's is not --
        BadCase("redirect to another host", "/bad/20261120/3200050.html", expect_bucket="redirect_refused",
                behaviour=_redirect("http://www.example.com/x.html")),
        BadCase("redirect to file://", "/bad/20261120/3200051.html", expect_bucket="redirect_dropped",
                behaviour=_redirect("file:///etc/passwd")),
        BadCase("redirect to data:", "/bad/20261120/3200052.html", expect_bucket="redirect_dropped",
                behaviour=_redirect("data:text/html,<p>x</p>")),
        BadCase("redirect to ftp:", "/bad/20261120/3200053.html", expect_bucket="redirect_dropped",
                behaviour=_redirect("ftp://127.0.0.1/x.html")),
        # The site is on 127.0.0.1 here (a private crawl host may be redirected to private addresses), so
        # "localhost", the same server under another name, stands in for another host: it would
        # answer, and must never be asked.
        BadCase("redirect to the same server as localhost", "/bad/20261120/3200054.html",
                expect_bucket="redirect_refused", behaviour=_redirect_to_localhost("/bad/20261120/3200055.html")),
        BadCase("a page only localhost redirects to", "/bad/20261120/3200055.html", resource=_ok("不该抓取的文章"),
                linked=False),
        # A subdomain of the crawl host's address: no URL at all for w3lib >= 2.6 (WHATWG; Python >= 3.11),
        # so not followed; an other host, refused, for an older w3lib.
        BadCase("redirect to a subdomain of the crawl host's address", "/bad/20261120/3200056.html",
                expect_bucket="redirect_refused" if SUBDOMAIN_OF_ADDRESS_PARSES else "redirect_dropped",
                behaviour=_redirect(SUBDOMAIN_OF_ADDRESS)),
        BadCase("meta refresh to another host", "/bad/20261120/3200057.html", expect_bucket="redirect_refused",
                resource=Resource(200, {"Content-Type": UTF8},
                                  b'<html><head><meta http-equiv="refresh" content="0;url=http://localhost:9/x.html">'
                                  b"</head><body></body></html>")),
        BadCase("list page redirected to another host", "/badlist/index.html", expect_bucket="offsite",
                behaviour=_redirect_to_localhost("/bad/index.html")),
    ]
    return cases


# Hrefs that must never be requested, and the good links beside them that must survive.
SCOPE_LINKS = """
<a href="javascript:void(0)">js</a> <a href="mailto:sccaw@sina.com">mail</a> <a href="tel:028123">tel</a>
<a href="">empty</a> <a href="#">hash</a> <a href="//www.chinapeace.gov.cn/x/20261120/1.html">proto-relative</a>
<a href="http://[broken">broken</a> <a href="  ../bad/20261120/3200060.html  ">whitespace and ../</a>
<a href="/bad/index.html?page=2">query noise</a> <a href="/bad/index.html?page=3">query noise</a>
"""
BASE_HREF_PAGE = """<html><head><base href="/bad/sub/"><title>base</title></head><body>
<a href="../20261120/3200061.html">resolved against base href</a></body></html>"""


def build_bad_site(oversize_limit: int) -> tuple[FixtureSite, list[BadCase]]:
    """The fixture site with /bad/ added and linked from the home page."""
    site = FixtureSite()
    cases = bad_cases(oversize_limit)
    for case in cases:
        if case.resource is not None:
            site.put(case.path, case.resource)
        else:
            assert case.behaviour is not None  # a case has a resource or a behaviour
            site.behaviours[case.path] = case.behaviour
    site.put("/bad/20261120/3200060.html", _ok("空白链接的文章"))
    site.put("/bad/20261120/3200061.html", _ok("基准链接的文章"))
    site.put("/basehref/index.html", Resource(200, {"Content-Type": UTF8}, BASE_HREF_PAGE.encode()))
    links = "".join(f'<li><a href="{c.path}">{c.name}</a></li>' for c in cases if c.linked)
    listing = (f"<html><head><title>坏页面_四川长安网</title></head><body><div>您的位置:首页 &gt; 坏页面</div>"
               f"<ul>{links}</ul>{SCOPE_LINKS}<a href=\"/basehref/index.html\">base</a></body></html>")
    site.put("/bad/index.html", Resource(200, {"Content-Type": UTF8}, listing.encode()))
    home = site.resources["/"]
    site.put("/", Resource(home.status, home.headers,
                           home.body.replace(b"</body>", '<a href="/bad/index.html">坏页面</a></body>'.encode())))
    return site, cases
