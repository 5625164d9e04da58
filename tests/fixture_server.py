"""The fixture site: serves tests/fixtures/<case>/ at each case's path on 127.0.0.1, port from the OS.

Absolute links to the real host inside served pages are rewritten onto the server's own address,
as a mirroring tool would, so the crawler's host rules treat them as on-site. Every request is
recorded, so tests can count what the crawler fetched. Run ``python -m tests.fixture_server`` to
serve it by hand (``--port 8000`` for a fixed port); it prints its address.
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
from tests.utils.net import ServedInThread

REAL_HOST_RE = re.compile(rb"(?:https?:)?//www\.sichuanpeace\.gov\.cn")

# serve_shtml: an article path's or a numbered list page's ".html" (never a trailing "/x.html" of
# other shapes); "/" and digits are never the second byte of a GBK character, so bytes are safe.
SHTML_LINK_RE = re.compile(rb"(/\d{8}/\d{5,12}|/index(?:_\d+)?)\.html(?![A-Za-z0-9_])")

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
    "safedog": ("<html><head><title>网站防火墙</title></head><body>"
                "<h3>您的请求带有不合法参数，已被网站管理员设置拦截！</h3>"
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


class FixtureSite(ServedInThread):
    """A threaded HTTP server for the fixture cases; use as a context manager."""

    def __init__(self, cases: list[Case] | None = None, port: int = 0):
        self.resources: dict[str, Resource] = {}
        # Paths answered by code instead of a resource (faulty responses): f(handler, hit number).
        self.behaviours: dict[str, Callable[[BaseHTTPRequestHandler, int], None]] = {}
        self.requests: list[str] = []
        self.request_times: list[float] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server naming
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
                                        b"<html><body>404 Not Found</body></html>")
                site.send(self, resource)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)  # port 0: the OS chooses
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
            site.send(handler, resource)

        with self._lock:
            self.behaviours[path] = behaviour

    def serve_discovery(self) -> None:
        """Opt in to the discovery pages (``DISCOVERY_*`` below): /gcsy/ lists pages of other URL
        shapes (three articles, one page that is not an article) beside its articles, with other-
        shaped links in its navigation and footer that must never be requested; robots.txt names a
        sitemap index, /sitemap.xml is served, and the home page announces an RSS feed; each reveals
        an article no list page links."""
        gcsy = self.resources["/gcsy/"].body.decode("utf-8")
        entries = "".join(f'<li><em>{day}</em><a href="{path}">{title}</a></li>\n'
                          for path, title, day in DISCOVERY_LISTED)
        gcsy = gcsy.replace('<ul class="gcsy-list">\n', '<ul class="gcsy-list">\n' + entries)
        gcsy = gcsy.replace('<li class="on"><a href="./">高层声音</a></li>',
                            '<li class="on"><a href="./">高层声音</a></li>\n' + DISCOVERY_NAV_LINK)
        gcsy = gcsy.replace('<p>蜀ICP备13011412号 中国', DISCOVERY_FOOTER_LINK + '<p>蜀ICP备13011412号 中国', 1)
        html = {"Content-Type": "text/html; charset=utf-8"}
        for path in ("/gcsy/", "/gcsy/index.html"):
            self.put(path, Resource(200, html, gcsy.encode("utf-8")))
        home = self.resources["/"].body.replace(
            b"</head>", b'<link rel="alternate" type="application/rss+xml" title="RSS" href="/rss.xml">\n</head>', 1)
        for path in ("/", "/index.html"):
            self.put(path, Resource(200, html, home))
        for path, (title, shown_time, paragraphs) in DISCOVERY_PAGES.items():
            self.put(path, Resource(200, html, discovery_page(title, shown_time, paragraphs).encode("utf-8")))
        base = self.base_url.rstrip("/")
        robots = self.resources["/robots.txt"].body.rstrip(b"\n") + f"\nSitemap: {base}/sitemap_index.xml\n".encode()
        self.put("/robots.txt", Resource(200, {"Content-Type": "text/plain; charset=utf-8"}, robots))
        xml = {"Content-Type": "application/xml; charset=utf-8"}
        self.put("/sitemap_index.xml", Resource(200, xml, (
            '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f'<sitemap><loc>{base}/sitemaps/articles-2024.xml</loc></sitemap></sitemapindex>').encode()))
        self.put("/sitemaps/articles-2024.xml", Resource(200, xml, _urlset(base, DISCOVERY_SITEMAP_INDEXED)))
        self.put("/sitemap.xml", Resource(200, xml, _urlset(base, DISCOVERY_SITEMAP_ROOT)))
        items = "".join(f"<item><title>{title}</title><link>{base}{path}</link><pubDate>{when}</pubDate></item>"
                        for path, title, when in DISCOVERY_FEED)
        self.put("/rss.xml", Resource(200, {"Content-Type": "application/rss+xml; charset=utf-8"}, (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>四川长安网</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()))

    def serve_shtml(self) -> None:
        """Opt in to a sister site of the platform that serves ``.shtml``: every article page
        (``/<channel>/<YYYYMMDD>/<id>.shtml``) and list page (``index_2.shtml``) moves there, with
        every link to it in every page; the old ``.html`` paths answer 404."""
        with self._lock:
            moved: dict[str, Resource] = {}
            for path, resource in self.resources.items():
                body = resource.body
                content_type = resource.headers.get("Content-Type", "")
                if "html" in content_type or "xml" in content_type:
                    body = SHTML_LINK_RE.sub(rb"\1.shtml", body).replace(b'"index", "html")', b'"index", "shtml")')
                moved[SHTML_LINK_RE.sub(rb"\1.shtml", path.encode()).decode()] = Resource(
                    resource.status, resource.headers, body)
            self.resources = moved

    def send(self, handler: BaseHTTPRequestHandler, resource: Resource) -> None:
        """Answer with ``resource`` (its status, headers and rewritten body): a behaviour may call it too."""
        body = self.rewrite(resource)
        handler.send_response(resource.status)
        for name, value in resource.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def rewrite(self, resource: Resource) -> bytes:
        if "html" not in resource.headers.get("Content-Type", ""):
            return resource.body
        return REAL_HOST_RE.sub(self.base_url.rstrip("/").encode(), resource.body)

    def request_counts(self) -> Counter[str]:
        """How often each path (without query) was requested."""
        with self._lock:
            return Counter(urlsplit(p).path for p in self.requests)


# --- the discovery pages (FixtureSite.serve_discovery) -------------------------------------------

# Entries added to /gcsy/'s article list: pages of other URL shapes (path, link text, listed date).
DISCOVERY_LISTED = [
    ("/content/2024/123456.htm", "成都政法系统开展执法规范化专题培训", "2024-03-05"),
    ("/show.php?id=98765", "绵阳两级法院集中宣判一批涉黑涉恶案件", "2024-03-04"),
    ("/zhuanti/pingan.htm", "平安四川建设专题：基层治理的德阳经验", "2024-03-03"),
    ("/zt/notice.htm", "关于四川长安网栏目调整的公告", "2024-03-02"),  # not an article: no time shown
]
# Other-shaped links in /gcsy/'s navigation and footer: chrome, never candidates, never requested.
DISCOVERY_NAV_LINK = '<li><a href="/about/intro2024.htm">四川长安网简介与联系方式</a></li>'
DISCOVERY_FOOTER_LINK = ('<p><a href="/help/guide.htm">网站使用帮助与无障碍说明</a> '
                         '<a href="/zt/hotline-12337.htm">12337政法干警违纪违法举报</a></p>\n')
# Articles no list page links: in the sitemap index's sitemap, in /sitemap.xml, in the RSS feed.
DISCOVERY_SITEMAP_INDEXED = ["/qxdt/20240306/3001001.html", "/scyw/20250829/2992286.html"]
DISCOVERY_SITEMAP_ROOT = ["/fzjs/20240307/3001002.html", "/gcsy/"]
DISCOVERY_FEED = [("/xwfb/20240308/3001003.html", "四川发布2023年度政法工作报告", "Fri, 08 Mar 2024 10:00:00 +0800"),
                  ("/content/2024/123456.htm", "成都政法系统开展执法规范化专题培训", "Tue, 05 Mar 2024 09:00:00 +0800")]
# path -> (title, time shown on the page or None, paragraphs)
DISCOVERY_PAGES: dict[str, tuple[str, str | None, list[str]]] = {
    "/content/2024/123456.htm": ("成都政法系统开展执法规范化专题培训", "2024-03-05 09:30:00", [
        "为进一步提升执法规范化水平，成都市委政法委近日组织全市政法系统开展专题培训。",
        "培训围绕执法办案中的常见问题展开，邀请业务骨干结合典型案例进行讲解。",
        "参训人员表示，将把培训成果转化为规范执法的实际行动。"]),
    "/show.php": ("绵阳两级法院集中宣判一批涉黑涉恶案件", "2024-03-04 15:12:08", [
        "3月4日，绵阳两级法院对一批涉黑涉恶案件进行集中宣判。",
        "此次宣判的案件涉及寻衅滋事、强迫交易、非法拘禁等多种犯罪。",
        "法院表示，将持续保持对黑恶势力犯罪的高压态势。"]),
    "/zhuanti/pingan.htm": ("平安四川建设专题：基层治理的德阳经验", "2024-03-03 08:00:00", [
        "德阳市坚持和发展新时代“枫桥经验”，推动矛盾纠纷就地化解。",
        "全市建成综治中心三百余个，实现市县乡村四级全覆盖。"]),
    "/zt/notice.htm": ("关于四川长安网栏目调整的公告", None, [
        "因工作需要，本网部分栏目将进行调整，给您带来的不便敬请谅解。",
        "如有疑问，请通过投稿邮箱与我们联系。"]),
    "/qxdt/20240306/3001001.html": ("雅安市推进诉源治理工作综述", "2024-03-06 10:20:00", [
        "雅安市着力推进诉源治理，把非诉讼纠纷解决机制挺在前面。",
        "去年全市诉前化解纠纷数量同比明显上升。"]),
    "/fzjs/20240307/3001002.html": ("乐山市开展法治乡村示范创建", "2024-03-07 11:00:00", [
        "乐山市以示范创建为抓手，推进法治乡村建设走深走实。",
        "目前全市已有一批村（社区）获评省级民主法治示范村。"]),
    "/xwfb/20240308/3001003.html": ("四川发布2023年度政法工作报告", "2024-03-08 09:00:00", [
        "四川省委政法委发布2023年度全省政法工作报告。",
        "报告显示，全省社会大局保持和谐稳定，群众安全感持续提升。"]),
}


def discovery_page(title: str, shown_time: str | None, paragraphs: list[str]) -> str:
    """An article page of the current template (markup A), with or without a time in its info line."""
    info = f"www.sichuanpeace.gov.cn 】 【 {shown_time} 】 【 来源:四川长安网" if shown_time else "来源:四川长安网"
    body = "".join(f'<p style="text-indent:2em">{text}</p>\n' for text in paragraphs)
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            f'<title>{title}_四川长安网</title></head>\n'
            f'<body>\n<div class="nav"><ul><li><a href="/">首页</a></li>'
            f'<li><a href="/gcsy/">高层声音</a></li></ul></div>\n'
            f'<div class="container"><div class="article">\n<h1 class="title">{title}</h1>\n'
            f'<div class="info">{info}</div>\n<div id="content" class="article-content">\n{body}</div>\n'
            f'<div class="editor">编辑:李明</div>\n</div></div>\n'
            f'<div class="footer"><p>蜀ICP备13011412号 中国共产党四川省委员会政法委员会 版权所有</p></div>\n'
            f'</body></html>')


def _urlset(base: str, paths: list[str]) -> bytes:
    urls = "".join(f"<url><loc>{base}{path}</loc><lastmod>2024-03-08</lastmod></url>" for path in paths)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--challenge", choices=sorted(CHALLENGE_PAGES),
                        help="answer the first request of each article with this challenge page (status 200)")
    parser.add_argument("--discovery", action="store_true", help="also serve the discovery pages (serve_discovery)")
    parser.add_argument("--port", type=int, default=0,
                        help="the port on 127.0.0.1 to serve on (default 0: one the OS chooses)")
    arguments = parser.parse_args()
    with FixtureSite(port=arguments.port) as site:
        if arguments.discovery:
            site.serve_discovery()
        if arguments.challenge:
            for case in load_cases("article"):
                site.challenge(case.meta["path"], arguments.challenge)
        print(site.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
