"""The spider's callbacks pass the check Scrapy skips at run time (WARN_ON_GENERATOR_RETURN_VALUE)."""

from __future__ import annotations

import inspect

import pytest
from scrapy.utils.misc import is_generator_with_return_value
from scrapy.utils.project import get_project_settings

from crawler.spiders.sichuanpeace import SichuanpeaceSpider

# Every method the spider hands to a Request as its callback or errback.
CALLBACKS = sorted(
    name for name, member in inspect.getmembers(SichuanpeaceSpider, inspect.isfunction)
    if name.startswith(("parse_", "on_"))
)


def test_the_run_time_check_is_off_in_the_project_settings():
    assert get_project_settings().getbool("WARN_ON_GENERATOR_RETURN_VALUE") is False


def test_the_callbacks_are_found():
    assert {"parse_article_page", "parse_listing_page", "on_error"} <= set(CALLBACKS)


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
