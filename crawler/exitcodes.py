"""Exit codes of ``scrapy crawl sichuanpeace``: what cron sees. 0 only for a complete run."""

COMPLETE = 0
FAILED = 1            # anything else: a crash, a spider that could not start
LOCKED = 3            # another run holds OUTPUT_DIR
FETCHED_NOTHING = 4   # no page of the site could be fetched (site down, blocked, DNS)
INTERRUPTED = 5       # shut down before the end (SIGTERM, SIGINT)
BOUND_HIT = 6         # stopped by a time, page, item or memory bound (CLOSESPIDER_*, MEMUSAGE_*)
ERROR_THRESHOLD = 7   # too many requests failed (RUN_MAX_ERROR_RATE)
OUTPUT_FAILED = 8     # the records could not be stored
TEMPLATE_DRIFT = 9    # complete, but extraction quality moved past a threshold (crawler/quality.py)
NO_LINKS = 10         # the site answered, but no list page held a link (a WAF challenge page, an empty home page)
CHALLENGED = 11       # the site answered challenge, block or busy pages (status 200) in place of some pages
