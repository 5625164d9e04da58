"""The validate pipeline: its compiled schema validator accepts and rejects what jsonschema does."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from scrapy.utils.test import get_crawler

from crawler.accounting import DropRecord
from crawler.extract.article import parse_article
from crawler.items import ArticleItem
from crawler.pipelines.clean import CleanPipeline
from crawler.pipelines.validate import ValidatePipeline, load_schema

from .fixture_cases import load_cases

REFERENCE = Draft202012Validator(load_schema())


@pytest.fixture(scope="module")
def pipelines():
    crawler = get_crawler()
    return CleanPipeline.from_crawler(crawler), ValidatePipeline.from_crawler(crawler), crawler.stats


def _item(case, clean: CleanPipeline) -> ArticleItem:
    raw = parse_article(case.body, case.url, case.content_type)
    return clean.process_item(ArticleItem.from_raw(raw, "www.sichuanpeace.gov.cn"))


# Records the schema rejects, each by one change to a valid record.
BAD_CHANGES: dict[str, dict[str, Any]] = {
    "published_at without zone": {"published_at": "2021-11-03T10:00:08"},
    "unknown status": {"status": "gone"},
    "revision 0": {"revision": 0},
    "literal CRLF left in the body": {"body": "第一句。\\r\\n第二句。"},
    "id not numeric": {"id": "abc"},
    "image without URL scheme": {"images": [{"url": "/a.jpg", "caption": None}]},
}


@pytest.mark.parametrize("case", load_cases("article"), ids=lambda c: c.name)
def test_every_fixture_record_passes_both_validators(pipelines, case):
    clean, validate, stats = pipelines
    item = validate.process_item(_item(case, clean))
    assert not list(REFERENCE.iter_errors(item.record())), case.name


@pytest.mark.parametrize("change", sorted(BAD_CHANGES))
def test_a_record_jsonschema_rejects_is_dropped_and_counted(pipelines, change):
    clean, validate, stats = pipelines
    item = dataclasses.replace(_item(load_cases("article")[0], clean), **BAD_CHANGES[change])
    assert list(REFERENCE.iter_errors(item.record())), "the change must break the schema"
    before = stats.get_value("validate/dropped/schema", 0)
    with pytest.raises(DropRecord) as dropped:
        validate.process_item(item)
    assert "schema:" in str(dropped.value)
    assert stats.get_value("validate/dropped/schema") == before + 1
