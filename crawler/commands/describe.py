"""``scrapy describe``: what a crawl can be told, read from where each thing is defined.

- the spider's arguments: ``crawler.spiders.arguments`` (KNOWN_ARGUMENTS says what each takes; its
  parser, asked about an argument not given, says the default);
- the settings: ``crawler/settings.py`` itself, each with the comment above it and its value there
  (``-s NAME=VALUE`` on this command line shows what the crawl would use instead); component maps
  and module paths are left out: they are wiring, not choices;
- the sister sites (``crawler/rules/sites.json``) and the channels: the site has no fixed list (each
  run reads them from the home page's navigation), so those shown are the ones this archive's
  committed articles were filed under (OUTPUT_DIR's state store).

A reader like ``scrapy export``: no lock, nothing written.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path
from types import ModuleType
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from .. import settings as project_settings
from ..rules.sites import registry
from ..spiders.arguments import KNOWN_ARGUMENTS, VALUE_PARSERS
from ..state.sqlite import SqliteStateStore
from ..state.stores import STATE_FILE


def setting_shown(value: Any) -> bool:
    """Whether a setting is a choice worth listing: a scalar or a list of numbers, not a module path."""
    if isinstance(value, (list, tuple)):
        return bool(value) and all(isinstance(v, (int, float)) for v in value)
    if isinstance(value, str):
        return not value.startswith("crawler.")
    return isinstance(value, (bool, int, float))


def documented_settings(module: ModuleType) -> list[tuple[list[str], list[str]]]:
    """The module's settings as its source groups them: (comment lines, names under them), in order.

    A comment right above an assignment starts a group; an assignment right below another one
    (no blank line, no comment) joins its group.
    """
    assert module.__file__ is not None
    lines = Path(module.__file__).read_text("utf-8").splitlines()
    groups: list[tuple[list[str], list[str]]] = []
    for node in ast.parse("\n".join(lines)).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.isupper()):
            continue
        comment: list[str] = []
        above = node.lineno - 2
        while above >= 0 and lines[above].lstrip().startswith("#"):
            comment.insert(0, lines[above].strip().removeprefix("#").strip())
            above -= 1
        if comment or not groups or node.lineno < 2 or not lines[node.lineno - 2].strip():
            groups.append((comment, []))
        groups[-1][1].append(node.targets[0].id)
    return [(comment, [n for n in names if setting_shown(getattr(module, n))]) for comment, names in groups
            if any(setting_shown(getattr(module, n)) for n in names)]


def describe_arguments() -> list[str]:
    lines = ["Spider arguments (scrapy crawl sichuanpeace -a NAME=VALUE):"]
    width = max(map(len, KNOWN_ARGUMENTS))
    for name, takes in KNOWN_ARGUMENTS.items():
        default = VALUE_PARSERS[name](None)
        given = f"default {default}" if default is not None else "not given by default"
        lines.append(f"  {name:<{width}}  {takes}; {given}")
    return lines


def describe_settings(settings: BaseSettings) -> list[str]:
    path = project_settings.__name__.replace(".", "/") + ".py"
    lines = [f"Settings ({path}: -s NAME=VALUE changes one; the default, then this command line's value if other):"]
    for comment, names in documented_settings(project_settings):
        lines.append("")
        lines += [f"  # {line}" for line in comment]
        for name in names:
            default, given = getattr(project_settings, name), settings.get(name)
            line = f"  {name} = {default!r}"
            if str(given) != str(default) and not (isinstance(default, bool) and settings.getbool(name) == default):
                line += f"   (here: {given!r})"
            lines.append(line)
    return lines


def describe_sites(output_dir: Path) -> list[str]:
    lines = ["Sites of the family (-a site=SHORT or HOST; crawler/rules/sites.json):"]
    width = max(len(site.short) for site in registry())
    lines.extend(f"  {site.short:<{width}}  {site.host}  {site.name} ({site.level})" for site in registry())
    state = output_dir / STATE_FILE
    channels: list[tuple[str, str, str | None, int]] = []
    if state.is_file():
        store = SqliteStateStore(state, readonly=True)  # a copy in memory: a crawl may be writing
        try:
            channels = store.channels()
        finally:
            store.close()
    lines += ["", "Channels (-a channels=FOLDER,...): each run reads them from the home page's navigation."]
    if not channels:
        lines.append(f"  This archive ({output_dir}) has no committed article yet.")
    else:
        lines.append(f"  Those this archive's articles were filed under ({state}):")
        for site, channel, name, articles in channels:
            lines.append(f"  {site}  {channel}  {name or ''}  {articles} articles")
    return lines


class Command(ScrapyCommand):
    """Print the spider arguments, the settings with their defaults, the sister sites and the channels."""

    requires_project = True
    requires_crawler_process = False  # nothing is crawled

    def syntax(self) -> str:
        return ""

    def short_desc(self) -> str:
        return "Show the spider arguments, the settings and their defaults, the sites and channels"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"scrapy describe takes no arguments (got {' '.join(args)})")
        assert self.settings is not None
        output_dir = Path(self.settings.get("OUTPUT_DIR"))
        for section in (describe_arguments(), describe_settings(self.settings), describe_sites(output_dir)):
            print("\n".join(section), end="\n\n")
