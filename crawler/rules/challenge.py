"""Challenge, block and busy pages served with status 200, as data: each wording has a name (its
stats key is ``challenge/<name>``) and a comment saying who serves it.

A WAF or an overloaded CMS often answers 200 with a page that is not the page asked for: a
"系统繁忙" notice, a rate-limit warning, a "please enable JavaScript" stub, a script that sets a
cookie and reloads, or a block page. ``crawler/extract/challenge.py`` reads these rules; where each
kind of rule is looked for (and why that keeps real articles safe) is said above each list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ChallengeRule:
    """A wording (a case-insensitive pattern) that marks a page as a challenge, block or busy page."""

    name: str
    pattern: re.Pattern[str]


def _rule(name: str, pattern: str) -> ChallengeRule:
    return ChallengeRule(name, re.compile(pattern, re.I))


# Machine strings of challenge scripts and block pages, searched (lower-cased, as plain substrings)
# in the page source: scripts, cookie names, asset URLs. No article shows them, yet they are only
# searched in pages that are short or carry no article marker, as a site may load a WAF vendor's
# harmless script on every page.
SOURCE_TOKENS: tuple[tuple[str, str], ...] = (
    # Cloudflare's managed challenge ("Just a moment...") passes its options in _cf_chl_opt.
    ("cloudflare", "_cf_chl_opt"),
    # Cloudflare's older "Checking your browser before accessing" interstitial.
    ("cloudflare", "cf-browser-verification"),
    ("cloudflare", "cf-challenge-running"),
    # Cloudflare's block page ("Sorry, you have been blocked", error 1020) shows its error box.
    ("cloudflare", "cf-error-details"),
    # 知道创宇 加速乐 / 创宇盾: a script computes the __jsl_clearance cookie and reloads.
    ("jiasule", "__jsl_clearance"),
    # 阿里云盾 (Aliyun WAF) JavaScript challenge: the acw_sc__v2 cookie, set by an obfuscated script.
    ("aliyun", "acw_sc__v2"),
    # 阿里云盾 block pages load their images and styles from errors.aliyun.com.
    ("aliyun", "errors.aliyun.com"),
    # 云锁 (Yunsuo) browser verification: the yunsuo_session_verify and security_verify_data cookies.
    ("yunsuo", "yunsuo_session_verify"),
    ("yunsuo", "security_verify_data"),
    # 安全狗 (Safedog) block pages link to and load their logo from safedog.cn.
    ("safedog", "safedog.cn"),
    ("safedog", "safedogsite"),
    # 360网站卫士 block and verification pages link to wangzhan.360.cn.
    ("360wzws", "wangzhan.360.cn"),
    # 百度云加速 block pages load their assets from yunjiasu-cdn.
    ("yunjiasu", "yunjiasu-cdn"),
)

# Wordings of a challenge or block page's <title>: searched only in pages without article markers
# and with little visible text, like LINE_RULES (an article may well be titled "筑牢网站防火墙").
TITLE_RULES: tuple[ChallengeRule, ...] = (
    # Cloudflare's managed and JavaScript challenges.
    _rule("cloudflare", r"^\s*just a moment|^\s*please wait\W*\|\s*cloudflare"),
    # Cloudflare's block page ("Attention Required! | Cloudflare").
    _rule("cloudflare", r"attention required|\|\s*cloudflare\s*$"),
    # 安全狗 and other Chinese WAFs title their block page 网站防火墙.
    _rule("waf_block", r"网站防火墙|安全狗|云锁|创宇盾|网站卫士|阿里云盾|百度云加速|web应用防火墙"),
    # Generic block pages served with 200 instead of 403.
    _rule("blocked", r"^\s*(?:403\s*forbidden|access denied|forbidden)\s*$|访问(?:被)?(?:拦截|阻断|拒绝|受限)"),
    # A CMS or gateway too busy to answer.
    _rule("busy", r"系统繁忙|服务器繁忙|服务繁忙"),
    # Rate limits.
    _rule("rate_limited", r"访问(?:过于|太|过)频繁|请求(?:过于|太|过)频繁|访问频率过"),
    # Verification interstitials.
    _rule("verification", r"安全验证|安全检查中|人机验证|验证您的浏览器|browser check"),
)

# Wordings of a challenge page's visible text, matched inside short lines (at most
# LINE_MAX_CHARS) of pages that have no article marker and little visible text: a list page
# headline or an article sentence that quotes "系统繁忙" stays out of reach.
LINE_RULES: tuple[ChallengeRule, ...] = (
    # The site's CMS (TRS, and most Chinese CMSs) when overloaded: "系统繁忙，请稍后再试".
    _rule("busy", r"系统繁忙|服务器繁忙|服务繁忙|服务器正忙"),
    # Rate limits: "访问过于频繁，请稍后再试", "您的请求过于频繁", "访问频率过高".
    _rule("rate_limited", r"访问(?:过于|太|过)频繁|请求(?:过于|太|过)频繁|访问频率过[高快]|操作(?:过于|太)频繁"),
    # Pages that only work with JavaScript (a challenge script behind them): "请开启JavaScript",
    # "请启用浏览器的JavaScript", Cloudflare's "Enable JavaScript and cookies to continue".
    _rule("javascript_required", r"请(?:您)?(?:开启|启用|打开|允许)[^。\n]{0,10}(?:javascript|js|脚本)"
                                 r"|(?:enable|turn on) javascript|javascript (?:is )?(?:required|disabled)"),
    # Cloudflare's interstitial and block page wordings.
    _rule("cloudflare", r"checking (?:if the site connection is secure|your browser)|sorry, you have been blocked"
                        r"|verify you are (?:a )?human|performance (?:&|and) security by cloudflare"),
    # 安全狗: "您的请求带有不合法参数，已被网站管理员设置拦截！" under the heading 网站防火墙.
    _rule("safedog", r"网站防火墙|已被网站管理员设置拦截|您的请求带有不合法参数|安全狗"),
    # 云锁 / 百度云加速 / 360网站卫士: "当前访问疑似黑客攻击，已被网站管理员设置为拦截".
    _rule("waf_block", r"当前访问疑似黑客攻击|已被网站管理员设置为拦截|云锁|360网站卫士|百度云加速|网站卫士"),
    # 阿里云盾: "由于您访问的URL有可能对网站造成安全威胁，您的访问被阻断".
    _rule("aliyun", r"有可能对网站造成安全威胁|阿里云盾"),
    # 知道创宇 创宇盾 / 加速乐 block pages.
    _rule("jiasule", r"创宇盾|知道创宇|加速乐"),
    # Block pages served with 200 instead of 403: "您的访问被拦截", "访问被拒绝", "Access Denied".
    _rule("blocked", r"您的访问(?:已)?被(?:拦截|阻断|拒绝|禁止)|访问被(?:拦截|阻断|拒绝)|禁止访问|^403 forbidden$"
                     r"|^access denied|you don't have permission to access"),
    # Verification interstitials: "正在进行安全验证", "请完成安全验证", "人机验证".
    _rule("verification", r"安全验证|人机验证|正在验证|滑动验证|请输入验证码"),
)

# A JavaScript challenge: a page of almost no visible text whose script sets a cookie and then
# reloads or navigates (加速乐, 阿里云盾, 云锁 and homemade anti-bot scripts all do this).
JS_COOKIE_RE = re.compile(r"document\s*\.\s*cookie\s*=|document\[\s*['\"]cookie['\"]\s*\]\s*=", re.I)
JS_RELOAD_RE = re.compile(r"location\s*\.\s*(?:reload|replace|assign|href\s*=)|location\s*=|window\.location\s*=",
                          re.I)
JS_CHALLENGE_MAX_TEXT = 200

# Marks of an article page, as substrings: an info line (来源, 发布时间, 责任编辑) or article metadata
# (lower-cased). A page with one is never read for wordings, only for machine strings, and not even
# for those when long.
ARTICLE_MARKERS: tuple[str, ...] = ("来源", "发布时间", "发布日期", "责任编辑", "编辑：", "编辑:", "作者：", "作者:")
ARTICLE_MARKERS_LOWER: tuple[str, ...] = ("articletitle", "pubdate", "contentsource", "<article")
# The same marks as bytes, for the fast path on undecoded pages (UTF-8 and GB18030 spellings).
ARTICLE_MARKER_BYTES: tuple[bytes, ...] = tuple(
    marker.encode(encoding)
    for marker in ("来源", "发布时间", "发布日期", "责任编辑") for encoding in ("utf-8", "gb18030")
) + (b"ArticleTitle", b"PubDate", b"<article")
# A page at least this long (bytes as received, or characters of decoded text) with an article
# marker is an article page: nothing in it is looked at. Challenge pages are a few KB.
LONG_PAGE_BYTES = 12_000
LONG_PAGE_CHARS = 6_000
# Markers, machine strings, titles and text are searched in the first this many bytes or
# characters: challenge pages are short, and an article's info line comes early.
SCAN_CHARS = 64 * 1024
# Wordings are matched in lines of visible text of at most this many characters, and only in
# pages whose visible text is at most PAGE_TEXT_MAX characters (a list page's headlines are more).
LINE_MAX_CHARS = 80
PAGE_TEXT_MAX = 1500
# A page with more links than this is a page of the site (navigation, a list of articles), not a
# challenge or block page (those have a handful: the vendor's, a "retry").
LINKS_MAX = 8
