"""The one default of each of the project's own settings: the value ``crawler/settings.py`` gives
it (with its reason there), put beneath whatever a crawl's settings say, so that a crawl started
without the project settings (from a Python script, a test's crawler) sees what ``scrapy crawl``
sees."""

from __future__ import annotations

from typing import Any

from scrapy.settings import BaseSettings
from scrapy.settings import default_settings as scrapy_defaults

from . import settings as project_settings

# Where the archive lives is the project's to say: a crawl without the project settings names its
# own OUTPUT_DIR, or it writes nothing (no component writes outside an OUTPUT_DIR whose lock it holds).
NOT_DEFAULTED = frozenset({"OUTPUT_DIR"})

# Names crawler/settings.py imports for its own use, not settings.
IMPORTED_NAMES = frozenset({"RECORD_FIELDS"})


def own_settings() -> dict[str, Any]:
    """The settings ``crawler/settings.py`` introduces (not Scrapy's), with their values there."""
    return {name: value for name, value in vars(project_settings).items()
            if name.isupper() and not name.startswith("_") and not hasattr(scrapy_defaults, name)
            and name not in IMPORTED_NAMES}


OWN_DEFAULTS: dict[str, Any] = {name: value for name, value in own_settings().items() if name not in NOT_DEFAULTED}


def apply_defaults(settings: BaseSettings) -> None:
    """Give each of the project's own settings its default where the crawl's settings name none."""
    for name, value in OWN_DEFAULTS.items():
        if settings.getpriority(name) is None:
            settings.set(name, value, priority="default")
