"""Benchmarks of the crawler (see BENCHMARKS.md): synthetic mirror, extraction, crawl rate, rerun, memory."""
