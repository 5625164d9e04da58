"""The real sample article (article-text-sample.txt), served in the current template."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extract.article import parse_article
from crawler.extract.cleaning import clean_blocks
from tests.fixture_cases import REAL_BASE, load_cases

# CI and developers have the team's shared/ folder beside the checkout.
SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "article-text-sample.txt"

FOOTER_LINES = ("四川长安网简介", "蜀ICP备13011412号", "投稿:sccaw@sina.com", "版权所有", "编辑:廖安泰")
CAPTIONS = ("遂宁召开政法队伍教育整顿第二次征求意见座谈会", "为确保群众骑行安全,遂宁公安交警上街免费赠送爱心头盔")
FILE_NAMES = ("9288ddce26e586400c70a19f9c549e74.jpeg", "d65346c1518ba9487226edbf74f78a3e.jpeg")


@pytest.fixture(scope="module")
def sample():
    case = next(c for c in load_cases("article") if c.meta["path"] == "/scyw/20211103/2541288.html")
    raw = parse_article(case.body, case.url, case.content_type, REAL_BASE + "/")
    return raw, clean_blocks(raw.blocks)


def sample_paragraphs() -> list[str]:
    """The sample's body paragraphs: text lines between the info line and 编辑, minus captions/file names."""
    lines = [line.strip() for line in SAMPLE.read_text("utf-8").splitlines()]
    body = lines[lines.index(next(line for line in lines if "来源:" in line)) + 1: lines.index("编辑:廖安泰")]
    return [line for line in body if line and line not in CAPTIONS and line not in FILE_NAMES]


@pytest.mark.skipif(not SAMPLE.exists(), reason="shared/reference is not beside the checkout")
def test_body_is_exactly_the_sample_paragraphs(sample):
    _, cleaned = sample
    assert cleaned.body.split("\n") == sample_paragraphs()


def test_metadata(sample):
    raw, cleaned = sample
    assert raw.title == "遂宁市政法队伍教育整顿综述"
    assert raw.published_at == "2021-11-03T10:00:08+08:00"
    assert raw.source == "四川法治报"
    assert raw.editor == "廖安泰"
    assert cleaned.byline == "(文豪 四川法治报全媒体记者 罗孝伟 遂宁市委政法委供图)"


def test_images_with_captions(sample):
    _, cleaned = sample
    assert [img["caption"] for img in cleaned.images] == list(CAPTIONS)
    assert [img["url"].rsplit("/", 1)[-1] for img in cleaned.images] == list(FILE_NAMES)
    assert all(img["url"].startswith("https://www.sichuanpeace.gov.cn/sccaw/u_yhscwj/") for img in cleaned.images)


def test_no_footer_or_residue(sample):
    _, cleaned = sample
    for text in FOOTER_LINES + FILE_NAMES + CAPTIONS:
        assert text not in cleaned.body
