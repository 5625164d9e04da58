"""Helpers the tests share (as Scrapy's ``tests/utils/``): ``cmdline`` builds and runs the project's
real ``scrapy`` commands in a subprocess, ``crawl`` runs a crawl and reads what it committed, ``net``
finds a free port. Fixtures stay in ``tests/conftest.py``."""
