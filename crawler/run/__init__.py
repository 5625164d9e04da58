"""The life of a run: what ``scrapy crawl`` alone does to OUTPUT_DIR, in commit order.

lock (``lock``) → validate settings and state, recover what killed runs left (``recovery``) →
crawl, committing slices (``commit``): records files and WARC files closed, fsynced, renamed →
manifest written atomically (``manifests``: the commit point) → state promoted. Each step is a
named point (``points``) that tests kill the process at.
"""
