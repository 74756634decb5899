"""XLSForm conversion: what is read out of a good form, and where a bad one is wrong."""

from __future__ import annotations

import hashlib

import pytest

from taihu.core import InvalidInput
from taihu.surveys import convert_xlsform
from tests.surveys.helpers import SURVEY_HEAD, book, chain_form


def test_a_form_gives_its_id_version_fields_and_media() -> None:
    form = convert_xlsform(chain_form("2026120601", media=True), "chain.xlsx")
    assert (form.form_id, form.version, form.title) == ("chain_survey", "2026120601", "产业链摸底")
    paths = {f["path"]: f for f in form.fields}
    assert paths["suppliers"]["type"] == "repeat"
    assert paths["suppliers/share"]["repeat"] == "suppliers"
    assert paths["company"]["label"] == {"中文 (zh)": "企业名称", "English (en)": "Company"}
    assert "meta/instanceID" not in paths
    assert "instanceID" not in paths
    assert form.media_names == ["towns.csv"]
    assert form.md5 == hashlib.md5(form.xform.encode(), usedforsecurity=False).hexdigest()
    # Relevance, constraint and the choice filter reach the XForm.
    assert "relevant=\" /data/exports  = 'yes'\"" in form.xform
    assert 'constraint=". &lt;= 100"' in form.xform
    assert "instance('input')/root/item[kind= current()/../kind ]" in form.xform
    assert 'version="2026120601"' in form.xform


def _problem(content: bytes) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        convert_xlsform(content, "bad.xlsx")
    assert caught.value.code == "bad_xlsform"
    return caught.value


def test_an_unknown_choice_list_is_shown_with_its_row() -> None:
    error = _problem(
        book(
            [SURVEY_HEAD[:3], ["select_one colours", "colour", "颜色"]],
            [["list_name", "name", "label"], ["yn", "yes", "Yes"]],
        )
    )
    assert error.details["sheet"] == "survey"
    assert error.details["row"] == 2
    assert "colours" in error.details["reason"]


def test_a_constraint_naming_no_question_is_shown_with_its_sheet_and_row() -> None:
    error = _problem(
        book(
            [
                ["type", "name", "label", "constraint"],
                ["integer", "employees", "Employees", ""],
                ["integer", "women", "Women", ". <= ${employes}"],
            ]
        )
    )
    assert (error.details["sheet"], error.details["row"]) == ("survey", 3)
    assert "constraint" in error.details["reason"]
    assert "employes" in error.details["reason"]


def test_an_unclosed_group_is_refused() -> None:
    error = _problem(book([["type", "name", "label"], ["begin_group", "g", "G"]]))
    assert error.details["row"] == 2


def test_a_form_without_a_version_is_refused() -> None:
    error = _problem(
        book([["type", "name", "label"], ["text", "q", "Q"]], settings=[["form_id"], ["probe"]])
    )
    assert error.details["sheet"] == "settings"


def test_only_spreadsheets_are_taken() -> None:
    with pytest.raises(InvalidInput) as caught:
        convert_xlsform(b"type,name\n", "form.csv")
    assert caught.value.code == "bad_xlsform_file"


def test_a_broken_workbook_is_refused_cleanly() -> None:
    _problem(b"PK\x03\x04 not really a zip")
