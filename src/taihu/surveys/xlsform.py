"""XLSForm to XForm with pyxform: the form's id, version, fields and choices, or its problems.

pyxform reports one problem at a time as text (``[row : 3] On the 'survey' sheet, …``); the
sheet and row are taken out of it so that the console and the API can point at the cell.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from taihu.core import N_, InvalidInput

__all__ = ["ConvertedForm", "FormProblem", "convert_xlsform"]

_ROW = re.compile(r"\[row\s*:\s*(\d+)\]")
_SHEET = re.compile(r"'(survey|choices|settings|external_choices|entities)' sheet")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")
# Question types that hold no answer, and the ones that nest others.
_NO_VALUE = {"note", "start", "end", "today", "deviceid", "username", "audit"}
_NESTING = {"group", "repeat"}
_FROM_FILE = re.compile(r"^(?:select_one|select_multiple)_from_file$")


@dataclass(frozen=True, slots=True)
class FormProblem:
    """One problem pyxform found, with where it is when it says so."""

    message: str
    sheet: str | None = None
    row: int | None = None


@dataclass(frozen=True, slots=True)
class ConvertedForm:
    """A valid XLSForm: its XForm and what the platform reads out of it."""

    form_id: str
    version: str
    title: str
    xform: str
    fields: list[dict[str, Any]]
    choices: dict[str, Any]
    media_names: list[str]
    itemsets: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def md5(self) -> str:
        """The XForm's MD5, as OpenRosa form lists give it."""
        return hashlib.md5(self.xform.encode("utf-8"), usedforsecurity=False).hexdigest()


def problem_of(text: str) -> FormProblem:
    """A pyxform message, with its sheet and row taken out."""
    row = _ROW.search(text)
    sheet = _SHEET.search(text)
    message = _ROW.sub("", text).strip()
    return FormProblem(
        message=message,
        sheet=sheet[1] if sheet else ("survey" if row else None),
        row=int(row[1]) if row else None,
    )


def convert_xlsform(content: bytes, filename: str) -> ConvertedForm:
    """Convert an uploaded XLSForm; ``InvalidInput`` (``bad_xlsform``) says where it is wrong."""
    file_type = filename.rsplit(".", 1)[-1].lower() if "." in filename else None
    if file_type not in ("xlsx", "xls"):
        raise InvalidInput(
            N_("an XLSForm is an .xlsx or .xls file, not {filename}"),
            code="bad_xlsform_file",
            filename=filename,
        )
    warnings: list[str] = []
    try:
        result = convert(content, warnings=warnings, file_type=f".{file_type}")
    except PyXFormError as exc:
        _refuse(problem_of(str(exc)))
    except Exception as exc:
        _refuse(FormProblem(message=f"{type(exc).__name__}: {exc}"))
    data: dict[str, Any] = result._pyxform or {}
    form_id = str(data.get("id_string") or "")
    version = str(data.get("version") or "")
    if not _NAME.match(form_id):
        _refuse(
            FormProblem(message=f"form_id {form_id!r} is not a valid identifier", sheet="settings")
        )
    if not version or len(version) > 100:
        _refuse(
            FormProblem(
                message="the settings sheet needs a version (at most 100 characters)",
                sheet="settings",
            )
        )
    fields: list[dict[str, Any]] = []
    media: set[str] = set()
    _walk(data.get("children", []), "", None, fields, media)
    if result.itemsets is not None:
        media.add("itemsets.csv")
    return ConvertedForm(
        form_id=form_id,
        version=version,
        title=str(data.get("title") or form_id),
        xform=result.xform,
        fields=fields,
        choices=_choices(data.get("choices") or {}),
        media_names=sorted(media),
        itemsets=result.itemsets,
        warnings=warnings,
    )


def _refuse(problem: FormProblem) -> Any:
    where = {"reason": problem.message, "sheet": problem.sheet, "row": problem.row}
    if problem.row is not None:
        message = N_("the XLSForm cannot be converted (sheet {sheet}, row {row}): {reason}")
    elif problem.sheet is not None:
        message = N_("the XLSForm cannot be converted (sheet {sheet}): {reason}")
    else:
        message = N_("the XLSForm cannot be converted: {reason}")
    raise InvalidInput(message, code="bad_xlsform", **where)


def _label(value: Any) -> dict[str, str]:
    """A label as ``{language: text}`` (one unnamed language is ``default``)."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {"default": str(value)} if value else {}


def _walk(
    children: list[dict[str, Any]],
    prefix: str,
    repeat: str | None,
    out: list[dict[str, Any]],
    media: set[str],
) -> None:
    """Flatten the question tree: each answer's path, type, labels and the repeat it is in."""
    for child in children:
        kind, name = str(child.get("type", "")), str(child.get("name", ""))
        path = f"{prefix}{name}"
        if name == "meta" and not prefix:
            continue
        if kind in _NESTING:
            if kind == "repeat":
                out.append(
                    {
                        "path": path,
                        "name": name,
                        "type": "repeat",
                        "repeat": repeat,
                        "label": _label(child.get("label")),
                        **_binding(child),
                    }
                )
            _walk(
                child.get("children", []),
                f"{path}/",
                path if kind == "repeat" else repeat,
                out,
                media,
            )
            continue
        if kind in _NO_VALUE:
            continue
        if _FROM_FILE.match(kind) or child.get("itemset", "").endswith(
            (".csv", ".xml", ".geojson")
        ):
            itemset = str(child.get("itemset", ""))
            if itemset:
                media.add(itemset)
        for medium in (child.get("media") or {}).values():
            media.update(
                str(v) for v in (medium.values() if isinstance(medium, dict) else [medium])
            )
        out.append(
            {
                "path": path,
                "name": name,
                "type": kind,
                "repeat": repeat,
                "label": _label(child.get("label")),
                "list": child.get("list_name") or child.get("itemset"),
                **_binding(child),
            }
        )


def _binding(child: dict[str, Any]) -> dict[str, str]:
    """The ``bind::taihu:field`` column (pyxform keeps it as a bind attribute)."""
    bind = child.get("bind")
    value = bind.get("taihu:field") if isinstance(bind, dict) else None
    return {"taihu": str(value).strip()} if value else {}


def _choices(raw: dict[str, Any]) -> dict[str, Any]:
    """Choice lists as ``{list: [{name, label}]}`` (for labels in exports and summaries)."""
    return {
        str(name): [{"name": str(c.get("name")), "label": _label(c.get("label"))} for c in items]
        for name, items in raw.items()
        if isinstance(items, list)
    }
