"""Scrapy settings for the 四川长安网 archive crawler: only settings that are on, each with its reason."""

from pathlib import Path

from crawler.items import RECORD_FIELDS

BOT_NAME = "sichuanpeace"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Where a run writes everything (records, later archives and reports); -s OUTPUT_DIR=path moves it.
OUTPUT_DIR = str(Path(__file__).resolve().parent.parent / "output")
# Fleet mode is off: -s REDIS_URL=redis://host:6379/0 makes the run one of a fleet's (docs/fleet.md).
REDIS_URL = ""

# An honest User-Agent with a contact, as a government site may want to reach the operator.
USER_AGENT = "sichuanpeace-archive/0.2 (+https://github.com/sichuanpeace-archive/crawler; research archive crawler)"
# Whoever runs the crawl (an e-mail address or URL): added to USER_AGENT (unless -s USER_AGENT= is
# given); a crawl of the live site without it logs a warning (crawler/extensions/contact.py).
CONTACT = ""

# Politeness for a government site: obey robots.txt, one request at a time, jittered delay.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
DOWNLOAD_DELAY_JITTER = 0.5
# AutoThrottle slows down further when the site answers slowly.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60

# Retries with exponential backoff on 5xx, 429 and WAF answers (412, 521).
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429, 412, 521]
RETRY_BACKOFF_BASE = 5.0
RETRY_BACKOFF_MAX = 300.0
# A Retry-After is honoured up to this many seconds.
RETRY_AFTER_MAX = 900.0
DOWNLOADER_MIDDLEWARES = {
    # Replaces Scrapy's immediate retry with one that waits between attempts.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.downloadermiddlewares.retry.BackoffRetryMiddleware": 550,
    # Only the crawl host (and its www./bare twin), for links and redirects, and no private address
    # unless the crawl host is one; a refused redirect reaches the errback (Scrapy's own admits
    # subdomains and drops a redirect hop where no errback hears of it).
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.downloadermiddlewares.offsite.CrawlHostOffsiteMiddleware": 50,
    # Outermost: counts each attempt once, before offsite/robots filters can drop it.
    "crawler.downloadermiddlewares.accounting.AccountingMiddleware": 10,
    # Scrapy's redirects, an unparseable Location left unfollowed (redirect_dropped), not a crash
    # filed as retries_exhausted; same places (meta refresh one ahead of the challenge check's 580).
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.downloadermiddlewares.redirect.ParsedRedirectMiddleware": 600,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.downloadermiddlewares.redirect.ParsedMetaRefreshMiddleware": 579,
    "crawler.downloadermiddlewares.truncation.TruncationMiddleware": 595,  # sees bodies before inflating (590)
    # Inside redirects and inflating (590): a 200 challenge, block or busy page fails its request.
    "crawler.downloadermiddlewares.challenge.ChallengeMiddleware": 580,
    # Next to the downloader: archives every response as received (before decompression/redirects).
    "crawler.downloadermiddlewares.warc.WarcArchiveMiddleware": 950,
}

# Raw archive: gzipped WARC 1.1 under OUTPUT_DIR/warc/, a new file past this size.
WARC_ENABLED = True
WARC_MAX_SIZE = 512 * 1024 * 1024
# Level 3, not gzip's 6 or warcio's 9: on the benchmark's article pages 0.48 ms a page against 1.06 ms
# at 6, for 15 % more bytes of HTML (1.6 % more archive once the articles' pictures, stored as they
# are, are in it); level 1: 0.41 ms, +21 %; level 4: 0.62 ms, +4 % (BENCHMARKS.md, the archive's cost).
# The writer thread shares two cores with the crawl: its CPU is the crawl's.
WARC_GZIP_LEVEL = 3
# Who runs the crawl, as each WARC file's warcinfo record says (``operator``): a name and a contact.
WARC_OPERATOR = "sichuanpeace-archive (+https://github.com/sichuanpeace-archive/crawler)"
# Page requisites: each emitted article's images and attachments fetched into the WARC archive
# once, so a replay shows them (crawler/pipelines/requisites.py); none larger than this many bytes
# (a 300 MB video attachment is not fetched: requisites/failed/oversize).
REQUISITES_ENABLED = True
REQUISITES_MAX_SIZE = 20 * 1024 * 1024
# From any public host (a CDN, the live site a mirror links to), as archivists expect; never from a
# private address unless the crawl host is one (crawler/downloadermiddlewares/offsite.py).
REQUISITES_OFFSITE = True
# No WACZ per run: it would copy the run's WARC files (warc/ + wacz/ was 1.93x the WARC bytes).
# The archive keeps one copy of each byte; `scrapy export --format wacz [--runs RUN_ID]` packs a WACZ
# of any runs on demand (crawler/export/wacz.py). True: each run also writes its own WACZ at its end,
# listed in its final manifest (crawler/archive/wacz.py), a second copy of its WARC files.
WACZ_ENABLED = False

# Pages over this size (also once decompressed: gzip bombs) are not articles of this site.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
# Redirect loops and long chains end early (counted as redirect_dropped).
REDIRECT_MAX_TIMES = 5
# Pager traps: no channel list is followed past this page number (counted discovery/pager_bound).
LIST_PAGES_MAX = 3000
# Empty pagers: a channel stops paging after this many list pages in a row without an article link
# (or with only the links of the page before), counted discovery/paging_stopped_empty.
LIST_EMPTY_PAGES_MAX = 3
# Old articles are rechecked too: besides those published within `recheck` days, each run asks again
# (conditionally) for this many older ones, least recently checked first. At the cron interval of
# README (every 4 hours, 6 runs a day) that is 1,500 a day: 45,000 known articles are each looked at
# again within 30 days. 0 turns it off; `-a recheck=0` turns off every recheck.
RECHECK_BUDGET = 250

# Discovery beyond the URL pattern: links of another URL shape in a list page's article list are
# fetched as candidate articles; robots.txt Sitemap: lines and /sitemap.xml, and RSS/Atom feeds the
# pages announce, name articles no list page may link. Each can be turned off (-s NAME=False).
DISCOVERY_OTHER_SHAPES = True
DISCOVERY_SITEMAPS = True
DISCOVERY_FEEDS = True

# Clean first (it builds body/images), then validate what was built, then drop repeats, and
# compare with the state store: only valid, unique records reach it. Requisites last: only records
# that will be emitted fetch their images, and the record waits for their WARC records.
ITEM_PIPELINES = {
    "crawler.pipelines.clean.CleanPipeline": 100,
    "crawler.pipelines.validate.ValidatePipeline": 200,
    "crawler.pipelines.dedupe.DedupePipeline": 300,
    "crawler.pipelines.state.StatePipeline": 400,
    "crawler.pipelines.requisites.RequisitesPipeline": 500,
}

# The archive's own UTF-8 JSONL file per slice under OUTPUT_DIR, named by the run id (UTC start time),
# whatever feed the command line adds (-O/-o: deliveries): the add-on adds it to FEEDS. The state
# store is a component of its own, shared by the spider, the pipelines and the commit; its add-on
# keeps it on whatever EXTENSIONS the command line gives.
ADDONS = {"crawler.run.feeds.RunOutput": 0, "crawler.state.stores.StateStoreAddon": 0, "crawler.fleet.Fleet": 10,
          # The User-Agent carries CONTACT.
          "crawler.extensions.contact.OperatorContact": 20}
FEED_URI_PARAMS = "crawler.run.feeds.uri_params"
# Feed files appear atomically (hidden part file, fsync, rename), never torn or truncated.
FEED_STORAGES = {"": "crawler.run.feeds.AtomicFileFeedStorage", "file": "crawler.run.feeds.AtomicFileFeedStorage"}
FEED_EXPORT_ENCODING = "utf-8"
FEED_EXPORT_FIELDS = list(RECORD_FIELDS)
# No empty file when a run finds nothing.
FEED_STORE_EMPTY = False
# How many broken links and missing articles the run's report lists (the rest are only counted):
# a site gone wrong fills no report with 40,000 lines.
ACCOUNTING_LIST_MAX = 1000

# Each run's log is OUTPUT_DIR/logs/<run id>.log; a run deletes at its start the logs of the runs
# before the newest 180 (its own included, never deleted; 0 keeps all): 30 days at README's cron
# schedule (6 runs a day), the recheck cycle's length, and room to look back far past the 12-hour
# alert. A run's log was 8 KB on a 2,000-article mirror crawl (bench/disk.py), more when much fails.
LOG_RETENTION_RUNS = 180
# Dropped records are logged (and counted) by the pipeline that drops them; keep Scrapy's line short.
LOG_FORMATTER = "crawler.logformatter.ArchiveLogFormatter"

# Checks, run lock, per-run log file, recovery and exit codes for cron (crawler/commands/crawl.py).
COMMANDS_MODULE = "crawler.commands"
# The feed exporter that commits the run in slices, each with its manifest (crawler/run/commit.py),
# in place of Scrapy's; outside ``scrapy crawl`` it is Scrapy's own.
EXTENSIONS = {"scrapy.extensions.feedexport.FeedExporter": None, "crawler.run.commit.RunCommitter": 0,
              "crawler.extensions.accounting.AccountingExtension": 800,
              "crawler.extensions.gc_tuning.GcTuning": 0,
              "crawler.extensions.malloc_tuning.MallocTuning": 0,
              "crawler.extensions.contact.ContactWarning": 0,
              "crawler.extensions.progress.Progress": 900}
# A live progress display on stderr (rich): "auto" shows it when stderr is a terminal, never in
# cron's mail; True/False force it. Redrawn a few times a second: enough to see it move.
PROGRESS_ENABLED = "auto"
PROGRESS_REFRESH_PER_SECOND = 4
# Each run rewrites its figures for Prometheus (node_exporter's textfile format, crawler/run/metrics.py)
# here, one file per site: point it into node_exporter's --collector.textfile.directory.
METRICS_ENABLED = True
METRICS_FILE = "%(output_dir)s/metrics/%(site)s.prom"
# A long run commits a slice (records file, WARC files, manifest) every this many records or
# seconds, whichever comes first: a run killed after hours keeps all but its last minute, and a first
# crawl shows records a minute in. Only a minute that emitted records is cut. Each slice is a manifest,
# a records file and a WARC file with its CDXJ index (about 1 KB more than one slice would take, and
# no measurable time: 21 one-record slices crawled the fixture site in 3.7-6.9 s, one slice in
# 3.1-7.0 s). A cron rerun emits records for a few minutes: a few slices, ~4 files each, some 100 files
# a day at 6 runs a day; a first crawl of the live site (~10 records a minute) one slice a minute:
# ~4 files a minute, where -s CHECKPOINT_SECONDS=600 makes a tenth of that. A mirror at full speed
# reaches 1,000 records first (every ~10 s at 100 records/s).
CHECKPOINT_RECORDS = 1000
CHECKPOINT_SECONDS = 60
# Tests only: SIGKILL the process at a named point of the commit (crawler/run/points.py).
FAULT_KILL_AT = ""
# A run with more failed requests than this share of all requests is not complete.
RUN_MAX_ERROR_RATE = 0.2

# The garbage collector's passes found nothing to free yet took a tenth of a crawl's time: the
# startup heap is frozen and the young generation collected every 10,000 allocations, not 700
# (crawler/gc_tuning.py; bench/results/crawl_rate.json measures it).
GC_TUNING_ENABLED = True
GC_GEN0_THRESHOLD = 10_000
# Response bodies and pictures of 128 KiB or more get a mapping of their own, given back when freed,
# not a place in glibc's heap, which they fragmented as the run went on: the threshold is fixed, not
# raised by each large block freed (crawler/extensions/malloc_tuning.py; 0: glibc's dynamic one).
MALLOC_MMAP_THRESHOLD = 128 * 1024

# Fleet mode (only with -s REDIS_URL=redis://...): combined request rate per host across all
# workers (fractions allowed: 0.5 is one request every 2 s), how long an idle worker waits for the
# fleet to hand it more work, and how long a dead worker's uncommitted claims on records last.
FLEET_MAX_RATE = 1
FLEET_IDLE_SECONDS = 15
FLEET_CLAIM_SECONDS = 60

# Scrapy checks each callback for a generator `return value` before calling it, from a weak cache
# keyed by the bound method; each request holds a new bound method, so 15% of responses missed the
# cache and re-read the callback's source with inspect and ast (0.6-1.6 ms each). The spider's
# callbacks are checked once, by Scrapy's own check, in tests/test_spider_callbacks.py instead.
WARN_ON_GENERATOR_RETURN_VALUE = False

# ``scrapy check sichuanpeace -a base_url=...``: sample pages named by path on the crawled site, and
# records checked after the clean and validate pipelines (crawler/contracts.py).
SPIDER_CONTRACTS = {"crawler.contracts.PathContract": 1, "crawler.contracts.RecordContract": 3}

# Nobody may steer an unattended crawl from outside.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

