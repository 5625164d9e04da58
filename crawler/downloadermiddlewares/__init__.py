"""Downloader middlewares: attempts counted (``accounting``), only the crawl host followed
(``offsite``), retries with backoff (``retry``), truncated bodies refused (``truncation``), every
response archived (``warc``)."""
