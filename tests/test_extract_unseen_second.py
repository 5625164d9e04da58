"""What markup nobody here wrote did to extraction, second pass (issue 22's causes), each as a small page.

Each test is one cause found on real pages (described in the issue, not given): it failed before
the change it names.
"""

from __future__ import annotations

import pytest

from crawler.extract import extract_record
from crawler.extract.article import parse_article
from tests.test_extract_unseen import PARAGRAPHS, URL, article, page

BODY = "\n".join(PARAGRAPHS)


# --- 1. Editors written as staff codes ---------------------------------------------------------

@pytest.mark.parametrize(("line", "editor"), [
    ("责任编辑：NF041", "NF041"),
    ("责任编辑：NF041_NF5619", "NF041_NF5619"),
    ("（责任编辑：PN269）", "PN269"),
    ("[责任编辑：杜智 PX209]", "杜智"),  # a name beside the code: the name, as before
])
def test_an_editor_written_as_a_staff_code_is_the_code(line, editor):
    record = extract_record(page(article(f"<p>{line}</p>")), URL)
    assert record is not None and record["editor"] == editor and record["body"] == BODY
