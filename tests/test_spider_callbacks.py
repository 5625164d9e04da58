"""The spider's callbacks pass the check Scrapy skips at run time (WARN_ON_GENERATOR_RETURN_VALUE)."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings
from scrapy.utils.misc import is_generator_with_return_value

from crawler import settings as project_settings
from crawler.spiders.routes import ROUTES
from crawler.spiders.sichuanpeace import SichuanpeaceSpider

# Every method of the spider a Request is given as its callback or errback: the spider builds each
# request through crawler.spiders.routes, whose ROUTES name them.
CALLBACKS = sorted({name for route in ROUTES.values() for name in (route.callback, route.errback)})


def test_the_run_time_check_is_off_in_the_project_settings():
    # Read as Scrapy reads the module (not get_project_settings: it sets SCRAPY_SETTINGS_MODULE in
    # os.environ, which every later subprocess of the test run would inherit).
    settings = Settings()
    assert settings.getbool("WARN_ON_GENERATOR_RETURN_VALUE") is True  # Scrapy's default
    settings.setmodule(project_settings, priority="project")
    assert settings.getbool("WARN_ON_GENERATOR_RETURN_VALUE") is False


def test_the_callbacks_are_found():
    assert CALLBACKS == ["on_discovery_error", "on_error", "parse_article_page", "parse_feed",
                         "parse_listing_page", "parse_sitemap"]


@pytest.mark.parametrize("name", CALLBACKS)
def test_no_callback_is_a_generator_that_returns_a_value(name):
    spider = SichuanpeaceSpider()
    assert not is_generator_with_return_value(getattr(spider, name))


def test_the_check_does_find_a_generator_returning_a_value():
    class Returning(SichuanpeaceSpider):
        def parse_article_page(self, response, list_channel=None, list_channel_name=None):
            yield None
            return "lost"

    assert is_generator_with_return_value(Returning().parse_article_page)
