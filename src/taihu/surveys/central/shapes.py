"""ODK Central's JSON shapes of forms, submissions, comments and OData rows, from Taihu's rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from taihu.surveys.models import FormVersion, Submission, SubmissionEvent, Survey

__all__ = [
    "BINARY_TYPES",
    "PROJECT_ID",
    "comment_json",
    "expected_files",
    "form_json",
    "odata_row",
    "repeat_rows",
    "review_state",
    "stamp",
    "submission_json",
]

# One Taihu deployment is one bureau's platform: it is one Central project.
PROJECT_ID = 1
# Question types whose answer is the name of a file sent with the submission.
BINARY_TYPES = frozenset(
    {"image", "photo", "audio", "video", "file", "background-audio", "binary"}
)  # pyxform calls image questions "photo"


def stamp(moment: datetime | None) -> str | None:
    """A time as Central writes it: ISO 8601 in UTC with milliseconds and ``Z``."""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def review_state(submission: Submission) -> str | None:
    """Central's review state: ``null`` for a submission nobody has reviewed yet."""
    return None if submission.review_state == "received" else submission.review_state


def form_json(survey: Survey, version: FormVersion) -> dict[str, Any]:
    """A form (or one version of it) as ``GET /v1/projects/{p}/forms/{f}`` answers."""
    return {
        "projectId": PROJECT_ID,
        "xmlFormId": survey.form_id,
        "name": version.title,
        "version": version.version,
        "hash": version.xform_md5,
        "state": "closed" if survey.state == "closed" else "open",
        "enketoId": None,
        "keyId": None,
        "createdAt": stamp(survey.created_at),
        "updatedAt": stamp(survey.updated_at),
        "publishedAt": stamp(version.published_at),
    }


def submission_json(submission: Submission, actor_id: int = 0) -> dict[str, Any]:
    """A submission's metadata as ``GET …/submissions/{instanceId}`` answers."""
    updated = submission.updated_at if submission.updated_at != submission.created_at else None
    return {
        "instanceId": submission.instance_id,
        "instanceName": submission.instance_name,
        "submitterId": actor_id,
        "deviceId": None,
        "userAgent": None,
        "reviewState": review_state(submission),
        "createdAt": stamp(submission.created_at),
        "updatedAt": stamp(updated),
    }


def comment_json(event: SubmissionEvent, actor_id: int) -> dict[str, Any]:
    """A comment as ``GET …/comments`` lists it (with the actor's name, as extended metadata)."""
    return {
        "body": event.comment,
        "actorId": actor_id,
        "createdAt": stamp(event.at),
        "actor": {"id": actor_id, "displayName": event.actor, "type": "user"},
    }


def expected_files(data: dict[str, Any], types: dict[str, str]) -> list[str]:
    """The file names a submission's answers name (in its repeats too), in order, once each."""
    names: list[str] = []
    for path, value in data.items():
        if isinstance(value, list):
            for row in value:
                names.extend(n for n in expected_files(row, types) if n not in names)
        elif types.get(path) in BINARY_TYPES and value and value not in names:
            names.append(str(value))
    return names


def odata_row(
    submission: Submission,
    version: FormVersion,
    *,
    submitter_id: int,
    present: int,
    expand: bool,
) -> dict[str, Any]:
    """A row of ``Submissions`` in Central's OData: groups nested, repeats linked or expanded."""
    types = {f["path"]: f["type"] for f in version.fields}
    data: dict[str, Any] = {
        f["path"]: None for f in version.fields if f.get("repeat") is None and f["type"] != "repeat"
    }
    data.update(submission.data)
    link = f"Submissions('{quote(submission.instance_id, safe='')}')"
    row = _nest(data, "", types, link, expand=expand, key=submission.instance_id)
    row["__id"] = submission.instance_id
    row["meta"] = {"instanceID": submission.instance_id}
    row["__system"] = {
        "submissionDate": stamp(submission.created_at),
        "updatedAt": stamp(
            submission.updated_at if submission.updated_at != submission.created_at else None
        ),
        "submitterId": str(submitter_id),
        "submitterName": submission.submitter,
        "attachmentsPresent": present,
        "attachmentsExpected": len(expected_files(submission.data, types)),
        "status": None,
        "reviewState": review_state(submission),
        "deviceId": None,
        "edits": 0,
        "formVersion": version.version,
    }
    return row


def repeat_rows(submission: Submission, version: FormVersion, repeat: str) -> list[dict[str, Any]]:
    """The rows of one repeat of a submission, as the repeat's OData table lists them."""
    types = {f["path"]: f["type"] for f in version.fields}
    blank = {f["path"]: None for f in version.fields if f.get("repeat") == repeat}
    items = submission.data.get(repeat)
    rows = []
    for index, item in enumerate(items if isinstance(items, list) else [], 1):
        key = f"{submission.instance_id}/{repeat.rsplit('/', 1)[-1]}[{index}]"
        link = f"Submissions('{quote(submission.instance_id, safe='')}')/{repeat}"
        row = _nest({**blank, **item}, f"{repeat}/", types, link, expand=False, key=key)
        row["__id"] = key  # the KEY of the exports (export.py)
        row["__Submissions-id"] = submission.instance_id
        rows.append(row)
    return rows


def _nest(
    data: dict[str, Any],
    prefix: str,
    types: dict[str, str],
    link: str,
    *,
    expand: bool,
    key: str,
) -> dict[str, Any]:
    """Answers as nested objects; ``key`` is the row's KEY as the exports write it."""
    out: dict[str, Any] = {}
    for path, value in data.items():
        steps = (path[len(prefix) :] if path.startswith(prefix) else path).split("/")
        holder = out
        for step in steps[:-1]:
            holder = holder.setdefault(step, {})
        name = steps[-1]
        if isinstance(value, list):
            if expand:
                holder[name] = [
                    {
                        **_nest(
                            item,
                            f"{path}/",
                            types,
                            f"{link}/{name}",
                            expand=expand,
                            key=f"{key}/{name}[{i}]",
                        ),
                        "__id": f"{key}/{name}[{i}]",
                    }
                    for i, item in enumerate(value, 1)
                ]
            else:
                holder[f"{name}@odata.navigationLink"] = f"{link}/{name}"
        else:
            holder[name] = _typed(value, types.get(path))
    return out


def _typed(value: Any, kind: str | None) -> Any:
    """Numbers as numbers, as Central's OData types them; an empty answer is ``null``."""
    if value is None or value == "":
        return None
    try:
        if kind == "integer":
            return int(value)
        if kind == "decimal":
            return float(value)
    except (TypeError, ValueError):
        return value
    return value
