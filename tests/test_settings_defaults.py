"""One default per setting: each of the project's own settings has its default in
crawler/settings.py, a crawl without the project settings sees the same, and code reads settings
with no default argument, once, where the component is made (an AST scan keeps it so)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from scrapy.settings import Settings
from scrapy.settings import default_settings as scrapy_defaults
from scrapy.utils.test import get_crawler

import crawler
import crawler.settings as project_settings
from crawler.defaults import NOT_DEFAULTED, OWN_DEFAULTS, own_settings
from crawler.run.settings_check import setting_errors
from crawler.spiders.sichuanpeace import SichuanpeaceSpider

BASE = "http://127.0.0.1:8000/"

# What the spider reads from each setting, as an attribute, in a crawl with and without the project settings.
SPIDER_ATTRIBUTES = {
    "RECHECK_BUDGET": "recheck_budget",
    "LIST_PAGES_MAX": "list_pages_max",
    "LIST_EMPTY_PAGES_MAX": "list_empty_pages_max",
    "DISCOVERY_OTHER_SHAPES": "discover_other_shapes",
    "DISCOVERY_SITEMAPS": "discover_sitemaps",
    "DISCOVERY_FEEDS": "discover_feeds",
}


def _spider(settings: dict | None) -> SichuanpeaceSpider:
    return SichuanpeaceSpider.from_crawler(get_crawler(SichuanpeaceSpider, settings), base_url=BASE)


def _project() -> dict:
    """crawler/settings.py as ``scrapy crawl`` reads it (get_crawler sets these at project priority)."""
    return {name: value for name, value in vars(project_settings).items() if name.isupper()}


def test_a_spider_without_the_project_settings_rechecks_the_documented_250():
    # README and docs/incremental.md: "N older ones a run (default 250)"; the code's own default was 0.
    assert _spider(None).recheck_budget == 250 == project_settings.RECHECK_BUDGET


@pytest.mark.parametrize("name", sorted(SPIDER_ATTRIBUTES))
def test_the_spider_sees_the_same_value_with_or_without_the_project_settings(name):
    attribute = SPIDER_ATTRIBUTES[name]
    without, with_project = getattr(_spider(None), attribute), getattr(_spider(_project()), attribute)
    assert without == with_project == getattr(project_settings, name)


@pytest.mark.parametrize("name", sorted(OWN_DEFAULTS))
def test_a_crawl_started_from_python_sees_each_project_default(name):
    # A script's crawler: the spider and the run's add-ons, no project settings module.
    from_python = get_crawler(SichuanpeaceSpider, {"ADDONS": {"crawler.run.feeds.RunOutput": 0,
                                                              "crawler.state.stores.StateStoreAddon": 0}})
    with_project = get_crawler(SichuanpeaceSpider, _project())
    assert from_python.settings.get(name) == with_project.settings.get(name) == getattr(project_settings, name)


def test_a_setting_given_for_the_crawl_wins_over_the_default():
    assert _spider({"RECHECK_BUDGET": 7}).recheck_budget == 7
    assert _spider({"RECHECK_BUDGET": 0}).recheck_budget == 0


def test_a_bad_report_bound_is_refused_before_the_run():
    errors = setting_errors(Settings({**_project(), "ACCOUNTING_LIST_MAX": "many"}))
    assert errors == ["ACCOUNTING_LIST_MAX must be a number, got 'many'"]


def test_every_own_setting_is_defaulted_but_the_output_folder():
    assert set(own_settings()) - set(OWN_DEFAULTS) == NOT_DEFAULTED == {"OUTPUT_DIR"}
    # Settings the code reads that used to have no line in crawler/settings.py.
    assert {"ACCOUNTING_LIST_MAX", "REDIS_URL"} <= set(OWN_DEFAULTS)


# --- The code reads each setting with no default, once, where its component is made ----------------

CRAWLER = Path(crawler.__file__).resolve().parent
GETTERS = frozenset({"get", "getint", "getbool", "getfloat", "getlist", "getdict", "getwithbase"})
# Where a setting is read: a component's from_crawler or __init__, an add-on's (or the spider's)
# update_settings, or a command (crawler/commands/: Scrapy hands a command its settings, read in its
# own methods).
READ_IN = frozenset({"from_crawler", "__init__", "update_settings"})
# Functions that read settings elsewhere, each with why.
READ_ELSEWHERE = {
    ("extensions/console.py", "console_level"): "called by the crawl command's process_options",
    ("run/politeness.py", "relax_for_local_mirror"): "called by the spider's from_crawler and the crawl "
                                                      "command's preflight, before the settings freeze",
    ("run/recovery.py", "prepare"): "the crawl command's recovery, before its crawler is made",
    ("run/settings_check.py", "setting_errors"): "the crawl command's check of every setting",
    ("run/feeds.py", "uri_params"): "FEED_URI_PARAMS: Scrapy calls it with the spider as each feed file opens",
}
# Settings the code reads that crawler/settings.py has no line for (nor Scrapy), each with why.
NOT_IN_SETTINGS_PY = {
    "RUN_ID": "made per run (the crawl command, the RunOutput add-on): a project value would outrank the add-on's",
}


@dataclass(frozen=True)
class SettingRead:
    path: str         # under crawler/
    function: str     # the innermost function
    owner: str        # the class around it ("" for a module function)
    method: str       # get, getint, ...
    name: str | None  # the setting, when named by a literal
    has_default: bool
    line: int

    def __str__(self) -> str:
        default = ", <default>" if self.has_default else ""
        where = f"crawler/{self.path}:{self.line} {self.owner}.{self.function}"
        return f"{where}: settings.{self.method}({self.name!r}{default})"


def _is_settings(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "settings") or (isinstance(node, ast.Attribute)
                                                                    and node.attr == "settings")


def _reads(path: Path) -> list[SettingRead]:
    """Every ``<...>settings.get*(…)`` call in one module."""
    found: list[SettingRead] = []
    relative = path.relative_to(CRAWLER).as_posix()

    def visit(node: ast.AST, function: str, owner: str) -> None:
        if isinstance(node, ast.ClassDef):
            owner, function = node.name, ""
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in GETTERS
              and _is_settings(node.func.value) and node.args):
            first = node.args[0]
            name = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            found.append(SettingRead(relative, function, owner, node.func.attr, name,
                                     len(node.args) > 1 or bool(node.keywords), node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, function, owner)

    visit(ast.parse(path.read_text(encoding="utf-8")), "", "")
    return found


ALL_READS = [read for path in sorted(CRAWLER.rglob("*.py")) for read in _reads(path)]


def test_the_scan_finds_the_reads_it_is_about():
    assert any(r.path == "spiders/sichuanpeace.py" and r.name == "RECHECK_BUDGET" for r in ALL_READS)
    assert len({r.name for r in ALL_READS}) > 40


def test_no_setting_is_read_with_a_default_of_its_own():
    """The default is crawler/settings.py's (or Scrapy's): a second one in code is how RECHECK_BUDGET
    came to be 0 in the spider and 250 in settings.py."""
    assert [str(r) for r in ALL_READS if r.has_default] == []


def test_every_setting_read_has_its_default_in_settings_py_or_scrapy():
    names = {r.name for r in ALL_READS if r.name is not None}
    unknown = {n for n in names if not hasattr(project_settings, n) and not hasattr(scrapy_defaults, n)}
    assert unknown == set(NOT_IN_SETTINGS_PY)


def test_settings_are_read_where_components_are_made():
    elsewhere = [str(r) for r in ALL_READS
                 if r.function not in READ_IN and not r.path.startswith("commands/")
                 and (r.path, r.function) not in READ_ELSEWHERE]
    assert elsewhere == []
    # Each exception still exists (a stale entry would excuse a new read of the same name).
    assert {(r.path, r.function) for r in ALL_READS} >= set(READ_ELSEWHERE)


def test_a_component_reads_each_setting_once():
    counts = Counter((r.path, r.owner, r.name) for r in ALL_READS
                     if r.name is not None and r.owner and not r.path.startswith("commands/"))
    assert {key: n for key, n in counts.items() if n > 1 and key not in READ_TWICE} == {}


# A component that reads a setting twice, each with why.
READ_TWICE = {
    ("run/feeds.py", "RunOutput", "RUN_ID"): "read, made when missing, then read again to check it",
    ("run/commit.py", "RunCommitter", "OUTPUT_DIR"): "from_crawler decides from the OUTPUT_DIR lock whether to be "
        "Scrapy's own exporter, before Scrapy's FeedExporter.from_crawler makes it with the crawler alone",
}


# --- What users were told: the defaults README and docs give in their option tables -----------------

ROOT = CRAWLER.parent
DEFAULT_TEXT = re.compile(r"default ([^);]*)")
OPTION = re.compile(r"-[as] \"?(\w+)=")


def _documented_defaults() -> list[tuple[str, str, float]]:
    """(where, setting, default) for each option table row that gives as many numeric defaults as
    it names options (in the same order: "(default 1000, 60) | -s CHECKPOINT_RECORDS=… -s CHECKPOINT_SECONDS=…")."""
    found = []
    for page in (ROOT / "README.md", ROOT / "docs" / "operations.md"):
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if not line.startswith("|") or line.count("|") < 3:
                continue
            what, how = line.split("|")[1:3]
            values = [float(v) for text in DEFAULT_TEXT.findall(what) for v in re.findall(r"\b\d+(?:\.\d+)?\b", text)]
            names = list(dict.fromkeys(OPTION.findall(how)))
            if values and len(values) == len(names):
                found += [(f"{page.name}:{number}", name, value) for name, value in zip(names, values, strict=True)
                          if name.isupper()]  # -a arguments have their defaults in crawler/spiders/arguments.py
    return found


def test_the_docs_give_the_defaults_settings_py_gives():
    documented = _documented_defaults()
    assert {name for _, name, _ in documented} >= {"RECHECK_BUDGET", "CHECKPOINT_RECORDS", "CHECKPOINT_SECONDS",
                                                   "LIST_PAGES_MAX", "LIST_EMPTY_PAGES_MAX"}
    assert [(where, name, value, getattr(project_settings, name)) for where, name, value in documented
            if value != float(getattr(project_settings, name))] == []
