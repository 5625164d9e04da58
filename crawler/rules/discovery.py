"""Discovery rules: which links of another URL shape may be articles, and where sitemaps and feeds are.

Data only, each rule with the reason it exists; ``crawler.extract.listing`` and
``crawler.extract.sitemaps`` apply them.
"""

from __future__ import annotations

import re

# A link of another shape is a candidate article only inside the page's article list; these are the
# elements that hold one entry of a list (the "item" whose siblings are the other entries). A whole
# list (ul, ol, table, tbody) is never an item: a block of links next to the article list, such as
# a "links" box in the same column, would otherwise pass as one more entry.
LIST_ITEM_TAGS = frozenset({"li", "tr", "td", "dd", "dt", "p", "div", "span", "h2", "h3", "h4", "h5", "a",
                            "article", "section"})

# Ancestors whose tag, id or class names one of these are page chrome (navigation, header, footer,
# breadcrumbs, pagers, share bars): no link inside them is a candidate, whatever its siblings.
CHROME_TAGS = frozenset({"nav", "header", "footer", "aside", "menu"})
CHROME_NAME_RE = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|menu|header|footer|foot|bottom|copyright|crumb|breadcrumb|position|location|"
    r"pagination|pager|share|friendlinks?|yqlj|toolbar|sitemap)(?:$|[-_\s\d])",
    re.IGNORECASE)

# A date written beside a link in a list entry (2024-03-01, 2024/3/1, 2024.03.01, 2024年3月1日): an
# entry with one is an article entry even when no article-shaped link shares its list.
LIST_DATE_RE = re.compile(r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})")
# Dated entries a list needs before its other-shaped links count: one date could be a notice.
MIN_DATED_ENTRIES = 2

# A folder or its index page (/, /news/, /News/index.shtml, /default.aspx) is a list or the home
# page, never an article, whatever list it sits in.
INDEX_PATH_RE = re.compile(r"(?:^|/)(?:(?:index|default|home)(?:_\d+)?\.[a-z]+)?$", re.IGNORECASE)

# Link texts shorter than this are controls (首页, 更多, 详情), not headlines.
OTHER_TITLE_MIN_CHARS = 5
# At most this many candidates per page: a template whose whole sidebar passed the rules costs a
# bounded number of requests per list page, not thousands.
OTHER_ARTICLES_MAX_PER_PAGE = 60

# <link rel="alternate"> types of feeds a page may announce (RSS 2.0 / 1.0, Atom).
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})

# Sitemaps asked for at the site's root when robots.txt names none (the sitemaps protocol's
# conventional place).
WELL_KNOWN_SITEMAPS = ("/sitemap.xml",)
# Sitemap indexes nest: at most this many levels below the first sitemap are followed.
SITEMAP_MAX_DEPTH = 3
# A sitemap (or feed) larger than this, once decompressed, is not read.
SITEMAP_MAX_BYTES = 50 * 1024 * 1024
