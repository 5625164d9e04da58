"""A synthetic mirror of 四川长安网: N generated articles in the fixture templates, served fast.

Every page is generated on the fly from its article number ``k`` (0 = newest), deterministically:
the 1,000-article mirror is the newest 1,000 of the 100,000-article one. Layout as on the real site:

* ``/`` home: navigation to the channels, the newest articles, the footer (网站地图, 网站栏目);
* ``/<channel>/`` and ``/<channel>/index.html``, ``index_N.html``: list pages, newest first,
  20–40 articles per page depending on the channel, with 首页 / 上一页 / 下一页 / 尾页 links;
* ``/<channel>/<YYYYMMDD>/<id>.html``: articles in the markups of the fixture pages
  (A: ``article_2541288_current_a_sample``, B: ``article_2992286_current_b`` (TRS_Editor table),
  C: ``article_2870012_unknown_c_attachment`` (unknown template, 相关阅读 sidebar)), 30–120 KB each,
  with inline CSS, 0–4 images with file-name residue and captions, long bodies, 上一篇/下一篇;
* ``/wzdt/index.html``, ``/wzlm/index.html`` site maps; ``/robots.txt`` allowing everything.

Links are absolute, to the server's own address. Articles carry an ETag and Last-Modified and answer
``304`` to a matching ``If-None-Match``. ``/__stats`` answers the request counts as JSON (not counted).

The server is a raw asyncio HTTP/1.1 server with keep-alive (no framework): ``python -m bench.mirror
serve --articles 10000`` prints its base URL and serves; ``python -m bench.mirror loadtest`` measures
its capacity with a concurrent keep-alive client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from html import escape
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"

# (slug, name, list page size): 20–40 articles per list page.
CHANNELS: tuple[tuple[str, str, int], ...] = (
    ("scyw", "四川要闻", 20),
    ("szdt", "市州动态", 25),
    ("azsf", "案件审判", 30),
    ("gcsy", "高层声音", 35),
    ("fzxc", "法治宣传", 40),
)
CHANNEL_BY_SLUG = {slug: (i, name, size) for i, (slug, name, size) in enumerate(CHANNELS)}
NEWEST = date(2025, 9, 30)  # fixed, so no article falls in a rerun's recheck window
PER_DAY = 40                # articles published per day, site-wide
FIRST_ID = 3_000_000        # id of article k is FIRST_ID - k
LAST_MODIFIED = "Tue, 30 Sep 2025 08:00:00 GMT"
TEMPLATES = ("A", "B", "C")

SOURCES = ("四川法治报", "四川日报", "四川省委政法委", "成都市委政法委", "眉山市委政法委", "绵阳日报",
           "四川省高级人民法院", "四川省人民检察院", "四川省公安厅", "四川省司法厅", "新华社", "人民网")
EDITORS = ("廖安泰", "李晓燕", "罗佳", "王明", "张静", "陈婷", "刘洋", "赵磊", "周敏", "吴昊")
REPORTERS = ("罗孝伟", "陈婷", "王鑫", "李杨", "张颖", "何勇", "杨帆", "黄河")

_FALLBACK_SENTENCES = (
    "疾风知劲草,烈火见真金",
    "全省各级政法机关坚持以改革破解难题、以改革激发活力,重点任务取得阶段性成效",
    "要深化诉源治理,坚持和发展新时代“枫桥经验”,把非诉讼纠纷解决机制挺在前面",
    "各地各部门要整合人民调解、行政调解、司法调解等力量,实现矛盾纠纷一站式接收、一揽子调处",
)
_BAD_IN_TEXT = re.compile(r"\\|\.(?:jpe?g|png|gif|pdf)|^[(（]|[)）]$|供图|ICP|版权|编辑|来\s*源|上一篇|下一篇|分享|打印"
                          r"|字号|您的位置|当前位置|\d{4}\s*[-/.年]\s*\d")

# Realistic inline CSS of the head (real pages carry 10–30 KB of it); repeated to the page's budget.
_CSS_RULES = (
    "body{margin:0;padding:0;font-family:\"Microsoft YaHei\",SimSun;font-size:14px;color:#333}",
    ".nav a{display:inline-block;padding:0 18px;color:#fff;line-height:46px}",
    ".top{width:1200px;margin:0 auto;height:120px;background:url(/images/top_bg.jpg) no-repeat center top}",
    ".container{width:1200px;margin:10px auto;overflow:hidden;zoom:1}",
    ".crumb,.position,.xl_dqwz{height:36px;line-height:36px;border-bottom:1px solid #ddd;color:#666}",
    ".article h1.title{font-size:26px;line-height:40px;text-align:center;color:#1a3c8c;padding:20px 0 10px}",
    ".article .info{text-align:center;color:#999;font-size:12px;border-bottom:1px dashed #ccc;padding:8px}",
    ".article-content p{font-size:16px;line-height:2em;margin:0 0 12px;text-align:justify}",
    ".footer{width:100%;background:#1a3c8c;color:#fff;text-align:center;padding:20px 0;line-height:26px}",
    ".share a{display:inline-block;width:24px;height:24px;margin:0 4px;background:url(/images/share.png)}",
    ".news-list li{height:36px;line-height:36px;border-bottom:1px dotted #ccc;padding-left:12px}",
    ".news-list li span.date{float:right;color:#999;font-family:Arial,Helvetica,sans-serif}",
)
_SCRIPT = ("var _hmt = _hmt || [];(function(){var hm=document.createElement(\"script\");"
           "hm.src=\"https://hm.baidu.com/hm.js?0123456789abcdef0123456789abcdef\";"
           "var s=document.getElementsByTagName(\"script\")[0];s.parentNode.insertBefore(hm,s);})();"
           "function doZoom(size){document.getElementById('content').style.fontSize=size+'px';}"
           "function addFav(){try{window.external.addFavorite(location.href,document.title);}catch(e){}}")


@lru_cache(maxsize=1)
def sentence_pool() -> tuple[str, ...]:
    """Sentences of the fixture articles' bodies (clean of anything boilerplate-like)."""
    found: set[str] = set()
    for page in sorted(FIXTURES.glob("article_*/page.html")):
        try:
            text = page.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # the GB2312 legacy pages
        for para in re.findall(r"<(?:p|div)[^>]*>([^<]{20,})", text):
            for sentence in re.split(r"[。！？;；]", para.replace("\u3000", "").replace("&nbsp;", "")):
                sentence = sentence.strip(" \n\r\t")
                if 12 <= len(sentence) <= 120 and not _BAD_IN_TEXT.search(sentence) and "<" not in sentence:
                    found.add(sentence)
    return tuple(sorted(found)) or _FALLBACK_SENTENCES


@dataclass(frozen=True)
class ArticleMeta:
    k: int
    id: str
    channel: str
    channel_name: str
    day: date
    path: str


def article_meta(k: int) -> ArticleMeta:
    slug, name, _size = CHANNELS[k % len(CHANNELS)]
    day = NEWEST - timedelta(days=k // PER_DAY)
    ident = str(FIRST_ID - k)
    return ArticleMeta(k, ident, slug, name, day, f"/{slug}/{day:%Y%m%d}/{ident}.html")


def k_of_id(ident: str) -> int | None:
    return FIRST_ID - int(ident) if ident.isdigit() else None


def _title(rng: random.Random, pool: tuple[str, ...]) -> str:
    text = rng.choice(pool)
    clauses = [c for c in re.split(r"[,，、:：“”\"]", text) if 6 <= len(c) <= 28]
    base = rng.choice(clauses) if clauses else text[:24]
    return base.strip() + rng.choice(("", "工作会议召开", "取得实效", "综述", "纪实", "推进会在成都召开"))


@dataclass
class Article:
    """One generated article: its page and the truth the page shows."""

    meta: ArticleMeta
    template: str
    title: str
    published_at: str  # ISO, +08:00
    source: str
    editor: str
    paragraphs: list[str]  # body paragraphs in order (sub-headings included, byline last)
    images: list[tuple[str, str]]  # (path, caption)
    html: bytes

    def truth(self) -> dict:
        return {"id": self.meta.id, "title": self.title, "published_at": self.published_at,
                "source": self.source, "editor": self.editor, "body_must_contain": self.paragraphs,
                "template": self.template}


def generate_article(k: int, n_articles: int, base: str) -> Article:
    """Article ``k`` of an ``n_articles`` mirror served at ``base`` (``http://host:port``)."""
    meta = article_meta(k)
    rng = random.Random(k * 1_000_003 + 17)
    pool = sentence_pool()
    template = TEMPLATES[k % len(TEMPLATES)]
    title = _title(rng, pool)
    hh, mm, ss = rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59)
    published = f"{meta.day.isoformat()} {hh:02d}:{mm:02d}:{ss:02d}"
    source, editor = rng.choice(SOURCES), rng.choice(EDITORS)
    target = rng.randint(30 * 1024, 120 * 1024)
    css_budget = rng.randint(4 * 1024, 16 * 1024)
    images = []
    for i in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
        digest = hashlib.md5(f"{k}/{i}".encode()).hexdigest()
        ext = rng.choice(("jpeg", "jpg", "png"))
        images.append((f"/sccaw/u_yhscwj/{meta.day:%Y%m}/{digest}.{ext}", _title(rng, pool)[:30]))

    paragraphs: list[str] = []
    byline = f"({rng.choice(REPORTERS)} {source}全媒体记者 {rng.choice(REPORTERS)})"
    # Bytes so far: the page skeleton (~6 KB) + CSS; fill the body up to the target size.
    budget = target - css_budget - 4500
    per_para_markup = 120 if template == "A" else 60
    while budget > 0 or len(paragraphs) < 3:
        if paragraphs and rng.random() < 0.08:
            text = _title(rng, pool)[:20]  # a sub-heading (<strong>)
            paragraphs.append("\x00" + text)
        else:
            text = "，".join(rng.choice(pool) for _ in range(rng.randint(2, 6))) + "。"
            paragraphs.append(text)
        budget -= len(text.encode()) + per_para_markup
    paragraphs.append(byline)

    prev_k, next_k = k + len(CHANNELS), k - len(CHANNELS)
    prev = article_meta(prev_k) if prev_k < n_articles else None
    nxt = article_meta(next_k) if next_k >= 0 else None
    render = {"A": _render_a, "B": _render_b, "C": _render_c}[template]
    html = render(meta, base, title, published, source, editor, paragraphs, images, prev, nxt, n_articles,
                  _css(css_budget))
    truth_paragraphs = [p.lstrip("\x00") for p in paragraphs]
    return Article(meta, template, title, f"{published.replace(' ', 'T')}+08:00", source, editor,
                   truth_paragraphs, images, html.encode("utf-8"))


def _css(budget: int) -> str:
    rules, size, i = [], 0, 0
    while size < budget:
        rule = _CSS_RULES[i % len(_CSS_RULES)]
        rule = f".c{i // len(_CSS_RULES)} {rule}" if i >= len(_CSS_RULES) else rule
        rules.append(rule)
        size += len(rule) + 1
        i += 1
    return "\n".join(rules)


def _head(title: str, css: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\">\n<meta name=\"viewport\" content=\"width=1200\">\n"
        f"<title>{escape(title)}</title>\n"
        "<meta name=\"keywords\" content=\"四川长安网,四川政法,平安四川,法治四川\">\n"
        "<meta name=\"description\" content=\"四川长安网是中共四川省委政法委员会主办的政法综合门户网站\">\n"
        f"<style type=\"text/css\">\n{css}\n</style>\n<script type=\"text/javascript\">{_SCRIPT}</script>\n</head>\n"
    )


def _nav(base: str, on: str | None) -> str:
    on_attr = ' class="on"'
    items = [f"<li{on_attr if on is None else ''}><a href=\"{base}/\">首页</a></li>"]
    for slug, name, _ in CHANNELS:
        items.append(f"<li{on_attr if slug == on else ''}><a href=\"{base}/{slug}/\">{name}</a></li>")
    return (
        f"<body>\n<div class=\"top\"><div class=\"logo\"><a href=\"{base}/\"><img src=\"{base}/images/logo.png\" "
        "alt=\"四川长安网\" width=\"420\" height=\"80\"></a></div><div class=\"top-r\"><span class=\"today\">"
        "欢迎访问四川长安网</span> <a href=\"javascript:void(0)\" onclick=\"addFav()\">加入收藏</a></div></div>\n"
        f"<div class=\"nav\"><ul>\n{chr(10).join(items)}\n</ul></div>\n"
    )


# Footer links to pages the mirror does not have (404), as a site with a dead 网站地图 page has:
# ``serve --broken-footer-links N`` (bench/rerun.py measures what they cost a rerun).
BROKEN_FOOTER = {"count": 0}
BROKEN_SLUGS = ("zxzx", "lxwm", "tgxz", "bqsm", "wzjj", "yqlj", "xxgk", "hdjl")


def _footer(base: str) -> str:
    broken = "".join(f" | <a href=\"{base}/{slug}/index.html\">{slug}</a>"
                     for slug in BROKEN_SLUGS[:BROKEN_FOOTER["count"]])
    return (
        f"<div class=\"footer\">\n<p>{broken}<a href=\"javascript:void(0)\">四川长安网简介</a> | "
        f"<a href=\"javascript:void(0)\">版权声明</a> | <a href=\"{base}/wzdt/index.html\">网站地图</a> | "
        f"<a href=\"javascript:void(0)\">联系我们</a> | "
        f"<a href=\"{base}/wzlm/index.html\">网站栏目</a> | <a href=\"javascript:void(0)\">投稿须知</a> | "
        "投稿:<a href=\"mailto:sccaw@sina.com\">sccaw@sina.com</a> |</p>\n"
        "<p>蜀ICP备13011412号 中国共产党四川省委员会政法委员会 版权所有 未经书面授权 不得复制或建立镜像违者必究</p>\n"
        "<p>蜀ICP备13011412号-1 四川长安网版权所有 未经书面授权 不得复制或建立镜像违者必究</p>\n"
        "</div>\n</body>\n</html>\n"
    )


def _share(base: str, meta: ArticleMeta) -> str:
    return (
        "<div class=\"share\">分享到："
        "<a href=\"javascript:void(0)\" class=\"bds_weixin\" title=\"分享到微信\">微信</a> "
        f"<a href=\"https://service.weibo.com/share/share.php?url={base}{meta.path}\" target=\"_blank\" "
        "class=\"bds_tsina\" title=\"分享到新浪微博\">微博</a> "
        "<a href=\"javascript:void(0)\" class=\"bds_qzone\">QQ空间</a></div>\n"
        "<div class=\"tools\">【<a href=\"javascript:window.print();\">打印</a>】"
        "【<a href=\"javascript:window.close();\">"
        "关闭</a>】 字号：<a href=\"javascript:doZoom(18)\">大</a> <a href=\"javascript:doZoom(16)\">中</a> "
        "<a href=\"javascript:doZoom(14)\">小</a></div>\n"
    )


def _prevnext(base: str, prev: ArticleMeta | None, nxt: ArticleMeta | None, n: int, sep: str = "：") -> str:
    def link(meta: ArticleMeta | None) -> str:
        if meta is None:
            return "没有了"
        title = escape(_title(random.Random(meta.k * 1_000_003 + 17), sentence_pool()))
        return f"<a href=\"{base}{meta.path}\">{title}</a>"
    return f"<div class=\"prevnext\">\n<p>上一篇{sep}{link(prev)}</p>\n<p>下一篇{sep}{link(nxt)}</p>\n</div>\n"


def _image_a(base: str, path: str, caption: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return (f"<p style=\"text-align:center\"><img src=\"{base}{path}\" alt=\"{name}\" title=\"{name}\"></p>\n"
            f"<p>{name}</p>\n<p style=\"text-align:center\">{escape(caption)}</p>\n<p>&nbsp;</p>\n")


def _render_a(meta, base, title, published, source, editor, paragraphs, images, prev, nxt, n, css) -> str:
    body = [_image_a(base, p, c) for p, c in images]
    for text in paragraphs:
        if text.startswith("\x00"):
            body.append(f"<p style=\"text-indent:2em\">　　<strong>{escape(text[1:])}</strong></p>\n<p>&nbsp;</p>\n")
        else:
            body.append(f"<p style=\"text-indent:2em;line-height:2em\"><span style=\"font-family:宋体;font-size:16px\">"
                        f"　　{escape(text)}</span></p>\n<p>&nbsp;</p>\n")
    return (
        _head(f"{title}_四川长安网", css) + _nav(base, meta.channel)
        + "<div class=\"container\">\n"
        f"<div class=\"crumb\">您的位置:<a href=\"{base}/\">首页</a> > "
        f"<a href=\"{base}/{meta.channel}/\">{meta.channel_name}</a> ></div>\n"
        f"<div class=\"article\">\n<h1 class=\"title\">{escape(title)}</h1>\n"
        f"<div class=\"info\">www.sichuanpeace.gov.cn 】 【 {published} 】 【 来源:{source}</div>\n"
        f"<div id=\"content\" class=\"article-content\">\n{''.join(body)}</div>\n"
        f"<div class=\"editor\">编辑:{editor}</div>\n</div>\n"
        + _share(base, meta) + _prevnext(base, prev, nxt, n) + "</div>\n" + _footer(base)
    )


def _render_b(meta, base, title, published, source, editor, paragraphs, images, prev, nxt, n, css) -> str:
    body = []
    for path, caption in images:
        name = path.rsplit("/", 1)[-1]
        body.append(f"<div style=\"text-align:center\">"
                    f"<img src=\"{path}\" alt=\"{name}\" oldsrc=\"{name}\" border=\"0\"></div>\n"
                    f"<div style=\"text-align:center\">{name}</div>\n"
                    f"<div style=\"text-align: center;\">{escape(caption)}</div>\n")
    run: list[str] = []

    def flush() -> None:
        if run:
            body.append("<div style=\"text-indent:2em\">" + "<br>\n<br>\n".join(f"　　{escape(t)}" for t in run)
                        + "<br></div>\n")
            run.clear()
    for text in paragraphs:
        if text.startswith("\x00"):
            flush()
            body.append(f"<div style=\"text-indent:2em\"><strong>{escape(text[1:])}</strong></div>\n")
        else:
            run.append(text)
            if len(run) >= 3:
                flush()
    flush()
    return (
        _head(f"{title}-{meta.channel_name}-四川长安网", css) + _nav(base, meta.channel)
        + "<table width=\"1000\" border=\"0\" cellspacing=\"0\" cellpadding=\"0\" align=\"center\" "
        "class=\"xl_table\">\n"
        f"<tr><td class=\"xl_dqwz\"><span class=\"dqwz\">您的位置:<a href=\"{base}/\">首页</a> &gt; "
        f"<a href=\"{base}/{meta.channel}/\">{meta.channel_name}</a> &gt;</span>\n</td></tr>\n"
        f"<tr><td class=\"xl_tit\" align=\"center\">{escape(title)}</td></tr>\n"
        f"<tr><td class=\"xl_info\" align=\"center\">"
        f"【 www.sichuanpeace.gov.cn 】 【 {published} 】 【 来源:{source} 】</td></tr>\n"
        "<tr><td class=\"xl_fx\">\n" + _share(base, meta) + "</td></tr>\n"
        "<tr><td class=\"xl_con\">\n<div class=\"TRS_Editor\"><style type=\"text/css\">\n"
        ".TRS_Editor P{margin-top:0;margin-bottom:12px;line-height:2;font-family:宋体;font-size:12pt;}"
        ".TRS_Editor DIV{line-height:2;font-size:12pt;}\n</style>\n"
        f"{''.join(body)}</div>\n</td></tr>\n"
        f"<tr><td class=\"xl_bj\" align=\"right\">责任编辑:{editor}</td></tr>\n"
        "<tr><td class=\"xl_sxp\">\n" + _prevnext(base, prev, nxt, n) + "</td></tr>\n</table>\n" + _footer(base)
    )


def _render_c(meta, base, title, published, source, editor, paragraphs, images, prev, nxt, n, css) -> str:
    body = ["<script type=\"text/javascript\">var fontSize = 16; function setFs(n){fontSize = n;}</script>\n"]
    for path, caption in images:
        name = path.rsplit("/", 1)[-1]
        body.append(f"<p align=\"center\"><img src=\"../..{path}\" alt=\"{name}\"></p>\n"
                    f"<p align=\"center\">{escape(caption)}</p>\n")
    for text in paragraphs:
        if text.startswith("\x00"):
            body.append(f"<p><b>{escape(text[1:])}</b></p>\n")
        else:
            body.append(f"<p>　　{escape(text)}</p>\n")
    related = "".join(
        f"<li><a href=\"{base}{m.path}\">"
        f"{escape(_title(random.Random(m.k * 1_000_003 + 17), sentence_pool()))}</a></li>\n"
        for m in (article_meta(j) for j in (meta.k + 10, meta.k + 15) if j < n))
    return (
        _head(f"{title}_{meta.channel_name}_四川长安网", css) + _nav(base, meta.channel)
        + "<section class=\"nry-main\">\n"
        f"<div class=\"nry-crumb\">您的位置:<a href=\"{base}/\">首页</a> › "
        f"<a href=\"{base}/{meta.channel}/index.html\">{meta.channel_name}</a> ›</div>\n"
        f"<div class=\"nry-a\">\n<div class=\"wzxq_bt\">{escape(title)}</div>\n"
        f"<div class=\"wzxq_xx\"><span class=\"wz\">www.sichuanpeace.gov.cn</span> 】 【 "
        f"<span class=\"sj\">{published}</span> 】 【 "
        f"<span class=\"ly\">来源:{source}</span> <span class=\"zh\">字号：<a href=\"javascript:setFs(18)\">大</a> "
        "<a href=\"javascript:setFs(16)\">中</a> <a href=\"javascript:setFs(14)\">小</a></span></div>\n"
        f"<div class=\"nry-b-txt\">\n{''.join(body)}</div>\n<div class=\"nry-bj\">编辑:{editor}</div>\n"
        + _share(base, meta) + "</div>\n" + _prevnext(base, prev, nxt, n, ":")
        + f"<aside class=\"nry-side\"><div class=\"xgyd-t\">相关阅读</div><ul>\n{related}</ul></aside>\n</section>\n"
        + _footer(base)
    )


# --- list pages, home, site maps ----------------------------------------------------------------

def channel_count(ci: int, n: int) -> int:
    """Articles of channel ``ci`` in an ``n``-article mirror (k = ci, ci+5, ci+10, ...)."""
    return max(0, (n - ci + len(CHANNELS) - 1) // len(CHANNELS))


def list_page_html(slug: str, page: int, n: int, base: str) -> str | None:
    ci, name, size = CHANNEL_BY_SLUG[slug]
    count = channel_count(ci, n)
    pages = max(1, (count + size - 1) // size)
    if page >= pages:
        return None
    items = []
    for j in range(page * size, min(count, (page + 1) * size)):
        m = article_meta(ci + j * len(CHANNELS))
        t = escape(_title(random.Random(m.k * 1_000_003 + 17), sentence_pool()))
        items.append(f"<li><a href=\"{base}{m.path}\" target=\"_blank\" title=\"{t}\">{t}</a>"
                     f"<span class=\"date\">{m.day}</span></li>")

    def url(p: int) -> str:
        return f"{base}/{slug}/index.html" if p == 0 else f"{base}/{slug}/index_{p}.html"
    pager = [f"<a href=\"{url(0)}\">首页</a>"]
    pager.append(f"<a href=\"{url(page - 1)}\">上一页</a>" if page > 0 else "<span class=\"disabled\">上一页</span>")
    pager.append(f"<a href=\"{url(page + 1)}\">下一页</a>" if page + 1 < pages
                 else "<span class=\"disabled\">下一页</span>")
    pager.append(f"<a href=\"{url(pages - 1)}\">尾页</a> <span class=\"total\">第{page + 1}页/共{pages}页</span>")
    return (
        _head(f"{name}_四川长安网", _css(2048)) + _nav(base, slug) + "<div class=\"container\">\n"
        f"<div class=\"position\">您的位置：<a href=\"{base}/\">首页</a> &gt; "
        f"<a href=\"{base}/{slug}/\">{name}</a> &gt;</div>\n"
        f"<div class=\"list-box\"><div class=\"list-hd\"><h2>{name}</h2></div>\n<ul class=\"news-list\">\n"
        + "\n".join(items) + "\n</ul>\n" + f"<div class=\"pagination\">{' '.join(pager)}</div>\n</div>\n</div>\n"
        + _footer(base)
    )


def home_html(n: int, base: str) -> str:
    items = []
    for k in range(min(n, 12)):
        m = article_meta(k)
        t = escape(_title(random.Random(k * 1_000_003 + 17), sentence_pool()))
        items.append(f"<li><a href=\"{base}{m.path}\">{t}</a><span>{m.day:%m-%d}</span></li>")
    return (
        _head("四川长安网_中共四川省委政法委员会主办", _css(4096)) + _nav(base, None)
        + "<div class=\"latest\"><div class=\"hd\"><h2>最新动态</h2></div>\n<ul>\n" + "\n".join(items)
        + "\n</ul></div>\n"
        + _footer(base)
    )


def sitemap_html(base: str, name: str) -> str:
    links = "\n".join(f"<li><a href=\"{base}/{slug}/\">{cname}</a></li>" for slug, cname, _ in CHANNELS)
    return (_head(f"{name}_四川长安网", _css(1024)) + _nav(base, None) + f"<ul class=\"map\">\n{links}\n</ul>\n"
            + _footer(base))


ARTICLE_RE = re.compile(r"^/([a-z]+)/(\d{8})/(\d+)\.html$")
LIST_RE = re.compile(r"^/([a-z]+)/(?:index(?:_(\d+))?\.html)?$")
# An article's pictures (``generate_article``): served, so that the crawl's page requisites are
# fetched and archived as on the real site, not 404s.
IMAGE_RE = re.compile(r"^/sccaw/u_yhscwj/\d{6}/([0-9a-f]{32})\.(jpe?g|png)$")
_IMAGE_NOISE = random.Random(7).randbytes(96 * 1024)


def image_bytes(digest: str, ext: str) -> bytes:
    """A picture's bytes, 16–96 KB, the same on every request (incompressible, as JPEG and PNG are)."""
    size = 16 * 1024 + int(digest[:8], 16) % (80 * 1024)
    magic = b"\x89PNG\r\n\x1a\n" if ext == "png" else b"\xff\xd8\xff\xe0"
    start = int(digest[8:12], 16) % 1024
    return magic + digest.encode() + _IMAGE_NOISE[start:start + size]
ROBOTS = b"User-agent: *\nAllow: /\n"


class Mirror:
    """Request routing and counting for an ``n``-article mirror at ``base``."""

    def __init__(self, n: int, base: str):
        self.n, self.base = n, base.rstrip("/")
        self.counts: Counter[str] = Counter()
        self.started = time.time()
        self.first_request = self.last_request = 0.0

    def respond(self, path: str, headers: dict[str, str]) -> tuple[int, str, bytes, dict[str, str]]:
        path = path.split("?", 1)[0].split("#", 1)[0]
        html = "text/html; charset=utf-8"
        if path == "/__stats":
            stats = dict(self.counts, articles_in_mirror=self.n, cpu_seconds=time.process_time(),
                         uptime=time.time() - self.started, first_request=self.first_request,
                         last_request=self.last_request)
            return 200, "application/json", json.dumps(stats).encode(), {}
        if path == "/__reset":
            self.counts.clear()
            self.first_request = self.last_request = 0.0
            return 200, "application/json", b"{}", {}
        self.counts["requests"] += 1
        self.last_request = time.time()
        self.first_request = self.first_request or self.last_request
        if path == "/robots.txt":
            self.counts["robots"] += 1
            return 200, "text/plain", ROBOTS, {}
        if path in ("/", "/index.html"):
            self.counts["home"] += 1
            return 200, html, home_html(self.n, self.base).encode(), {}
        match = ARTICLE_RE.match(path)
        if match:
            k = k_of_id(match[3])
            if k is not None and 0 <= k < self.n:
                meta = article_meta(k)
                if meta.path == path:
                    etag = f'"{meta.id}-1"'
                    if headers.get("if-none-match") == etag:
                        self.counts["article_304"] += 1
                        return 304, html, b"", {"ETag": etag}
                    self.counts["article"] += 1
                    page = generate_article(k, self.n, self.base).html
                    self.counts["article_bytes"] += len(page)
                    return 200, html, page, {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        match = IMAGE_RE.match(path)
        if match:
            self.counts["image"] += 1
            body = image_bytes(match[1], match[2])
            self.counts["image_bytes"] += len(body)
            return 200, "image/png" if match[2] == "png" else "image/jpeg", body, {"Last-Modified": LAST_MODIFIED}
        match = LIST_RE.match(path)
        if match:
            slug = match[1]
            if slug in ("wzdt", "wzlm"):
                self.counts["sitemap"] += 1
                return 200, html, sitemap_html(self.base, "网站地图" if slug == "wzdt" else "网站栏目").encode(), {}
            if slug in CHANNEL_BY_SLUG:
                listed = list_page_html(slug, int(match[2] or 0), self.n, self.base)
                if listed is not None:
                    self.counts["list"] += 1
                    return 200, html, listed.encode(), {}
        self.counts["not_found"] += 1
        return 404, html, b"<html><body>404 Not Found</body></html>", {}


_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found", 400: "Bad Request"}


async def _handle(mirror: Mirror, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                break
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            if len(parts) != 3:
                status, ctype, body, extra = 400, "text/plain", b"bad request", dict[str, str]()
            else:
                status, ctype, body, extra = mirror.respond(parts[1], headers)
            close = headers.get("connection", "").lower() == "close" or parts[-1] == "HTTP/1.0"
            out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}", f"Content-Type: {ctype}",
                   f"Content-Length: {len(body)}", "Server: bench-mirror"]
            out += [f"{k}: {v}" for k, v in extra.items()]
            if close:
                out.append("Connection: close")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + (body if parts[0] != "HEAD" else b""))
            await writer.drain()
            if close:
                break
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(n: int, port: int, host: str = "127.0.0.1", ready=None) -> None:
    holder: dict[str, Mirror] = {}
    server = await asyncio.start_server(lambda r, w: _handle(holder["m"], r, w), host, port, backlog=1024)
    actual = server.sockets[0].getsockname()[1]
    holder["m"] = Mirror(n, f"http://{host}:{actual}")
    sentence_pool()
    print(f"http://{host}:{actual}/", flush=True)
    if ready is not None:
        ready(actual)
    async with server:
        await server.serve_forever()


# --- load test ------------------------------------------------------------------------------------

async def _client(host: str, port: int, paths: list[str], deadline: float, result: Counter) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept-Encoding: identity\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            found = re.search(rb"Content-Length: (\d+)", head)
            if found is None:
                raise ValueError(f"a response without Content-Length from {host}:{port}{path}")
            length = int(found[1])
            await reader.readexactly(length)
            result["requests"] += 1
            result["bytes"] += length + len(head)
    finally:
        writer.close()


async def _loadtest(base: str, n: int, seconds: float, concurrency: int) -> dict:
    host, port = base.split("//", 1)[1].rstrip("/").split(":")
    rng = random.Random(1)
    paths = [article_meta(rng.randrange(n)).path for _ in range(5000)]
    result: Counter = Counter()
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*[_client(host, int(port), paths[i::concurrency], deadline, result)
                           for i in range(concurrency)])
    elapsed = time.perf_counter() - start
    return {"concurrency": concurrency, "seconds": round(elapsed, 2), "requests": result["requests"],
            "requests_per_s": round(result["requests"] / elapsed, 1),
            "mb_per_s": round(result["bytes"] / elapsed / 1e6, 1),
            "avg_page_kb": round(result["bytes"] / max(1, result["requests"]) / 1024, 1)}


def loadtest(base: str, n: int, seconds: float = 5.0, concurrency: int = 16) -> dict:
    """Article pages fetched per second by a concurrent keep-alive client (a lower bound of capacity)."""
    return asyncio.run(_loadtest(base, n, seconds, concurrency))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the mirror; prints its base URL")
    s.add_argument("--articles", type=int, default=10_000)
    s.add_argument("--broken-footer-links", type=int, default=0, help=f"at most {len(BROKEN_SLUGS)}")
    s.add_argument("--port", type=int, default=0)
    lt = sub.add_parser("loadtest", help="start a mirror and measure its capacity")
    lt.add_argument("--articles", type=int, default=10_000)
    lt.add_argument("--seconds", type=float, default=5.0)
    lt.add_argument("--concurrency", type=int, default=16)
    sz = sub.add_parser("sizes", help="page size distribution of the first N articles")
    sz.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.command == "serve":
        BROKEN_FOOTER["count"] = args.broken_footer_links
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.articles, args.port))
    elif args.command == "loadtest":
        from bench.common import mirror_server
        with mirror_server(args.articles) as server:
            result = loadtest(server.base_url, args.articles, args.seconds, args.concurrency)
            result["server_cpu_s"] = round(server.stats()["cpu_seconds"], 2)
        print(json.dumps(result, indent=2))
    elif args.command == "sizes":
        sizes = sorted(len(generate_article(k, args.articles, "http://127.0.0.1:1").html) for k in range(args.articles))
        print(json.dumps({"min_kb": sizes[0] // 1024, "median_kb": sizes[len(sizes) // 2] // 1024,
                          "max_kb": sizes[-1] // 1024}))


if __name__ == "__main__":
    main()
