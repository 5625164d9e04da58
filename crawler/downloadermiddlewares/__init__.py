"""Downloader middlewares: attempts counted (``accounting``), retries with backoff (``retry``),
truncated bodies refused (``truncation``), every response archived (``warc``)."""
