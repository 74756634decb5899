"""The OpenRosa wire format: form lists, manifests, responses and submitted instances.

Bytes and text in, plain values out; nothing here knows the surveys' tables. Written from the
OpenRosa 1.0 specifications (FormListAPI, Form Submission API, HTTP response and manifest
documents) as ODK Collect and ODK Central use them:

    GET  …/formList            <xforms xmlns="http://openrosa.org/xforms/xformsList">
    GET  …/forms/{id}.xml      the XForm
    GET  …/forms/{id}/manifest <manifest xmlns="http://openrosa.org/xforms/xformsManifest">
    HEAD …/submission          204 + X-OpenRosa-Accept-Content-Length (pre-flight)
    POST …/submission          multipart: xml_submission_file + attachments → 201
                               <OpenRosaResponse xmlns="http://openrosa.org/http/response">
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeTree

__all__ = [
    "OPENROSA_HEADERS",
    "FormListEntry",
    "Instance",
    "InstanceError",
    "ManifestEntry",
    "answers",
    "form_list_xml",
    "manifest_xml",
    "parse_instance",
    "response_xml",
]

OPENROSA_VERSION = "1.0"
OPENROSA_HEADERS = {"X-OpenRosa-Version": OPENROSA_VERSION}
XML_TYPE = "text/xml; charset=utf-8"
_LIST_NS = "http://openrosa.org/xforms/xformsList"
_MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
_RESPONSE_NS = "http://openrosa.org/http/response"


@dataclass(frozen=True, slots=True)
class FormListEntry:
    """One form as a form list offers it."""

    form_id: str
    name: str
    version: str
    md5: str
    download_url: str
    manifest_url: str | None = None


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One media file of a form, as its manifest lists it."""

    filename: str
    md5: str
    download_url: str


def _tag(name: str, value: str) -> str:
    return f"<{name}>{escape(value)}</{name}>"


def form_list_xml(entries: Iterable[FormListEntry]) -> str:
    """The OpenRosa form list document."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<xforms xmlns="{_LIST_NS}">']
    for e in entries:
        parts.append(
            "<xform>"
            + _tag("formID", e.form_id)
            + _tag("name", e.name)
            + _tag("version", e.version)
            + _tag("hash", f"md5:{e.md5}")
            + _tag("downloadUrl", e.download_url)
            + (_tag("manifestUrl", e.manifest_url) if e.manifest_url else "")
            + "</xform>"
        )
    parts.append("</xforms>")
    return "".join(parts)


def manifest_xml(entries: Iterable[ManifestEntry]) -> str:
    """The OpenRosa manifest of a form's media files."""
    files = "".join(
        "<mediaFile>"
        + _tag("filename", e.filename)
        + _tag("hash", f"md5:{e.md5}")
        + _tag("downloadUrl", e.download_url)
        + "</mediaFile>"
        for e in entries
    )
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<manifest xmlns="{_MANIFEST_NS}">'
    return f"{head}{files}</manifest>"


def response_xml(message: str) -> str:
    """An OpenRosa response document carrying a message for the person at the device."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<OpenRosaResponse xmlns="{_RESPONSE_NS}">'
        f'<message nature="">{escape(message)}</message></OpenRosaResponse>'
    )


@dataclass(frozen=True, slots=True)
class Instance:
    """A submitted instance: which form and version it fills, its id, and its answers."""

    form_id: str
    version: str
    instance_id: str
    instance_name: str | None
    deprecated_id: str | None
    root: Any  # the parsed element; read with ``answers``


class InstanceError(ValueError):
    """The submitted XML is not a form instance."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_instance(xml: bytes) -> Instance:
    """Read a submitted instance's header (``InstanceError`` when it is not one)."""
    try:
        root = SafeTree.fromstring(xml)
    except Exception as exc:  # defusedxml raises its own and ElementTree's errors
        raise InstanceError(f"the submission is not well-formed XML: {exc}") from None
    form_id = root.get("id") or ""
    if not form_id:
        raise InstanceError("the instance's root element has no id attribute")
    meta: dict[str, str] = {}
    for child in root:
        if _local(child.tag) == "meta":
            meta = {_local(m.tag): (m.text or "").strip() for m in child}
    instance_id = meta.get("instanceID", "")
    if not instance_id:
        raise InstanceError("the instance has no meta/instanceID")
    return Instance(
        form_id=form_id,
        version=root.get("version") or "",
        instance_id=instance_id[:100],
        instance_name=meta.get("instanceName") or None,
        deprecated_id=meta.get("deprecatedID") or None,
        root=root,
    )


def answers(instance: Instance, repeats: set[str]) -> dict[str, Any]:
    """The answers as ``{path: text}``; a repeat's path maps to a list of such dicts."""
    return _read(instance.root, "", repeats)


def _read(element: Element, prefix: str, repeats: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        if not prefix and name == "meta":
            continue
        path = f"{prefix}{name}"
        if path in repeats:
            out.setdefault(path, []).append(_read(child, f"{path}/", repeats))
        elif len(child):
            out.update(_read(child, f"{path}/", repeats))
        else:
            out[path] = (child.text or "").strip()
    return out
