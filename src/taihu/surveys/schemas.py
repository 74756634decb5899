"""API shapes of the surveys context, with examples for ``/docs``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from taihu.core import Id, Page
from taihu.surveys.models import AppUser, FormVersion, Submission, SubmissionEvent, Survey
from taihu.surveys.service import MySurvey, ResponseRate

__all__ = [
    "AppUserIn",
    "AppUserOut",
    "AssignIn",
    "AssignOut",
    "CommentIn",
    "DraftTokenOut",
    "EditIn",
    "EventOut",
    "MySurveyOut",
    "ReviewIn",
    "StateIn",
    "SubmissionDetailOut",
    "SubmissionOut",
    "SubmissionPage",
    "SurveyDetailOut",
    "SurveyOut",
    "UploadOut",
    "VersionOut",
]


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


_SURVEY = {
    "form_id": "chain_survey",
    "title": "产业链摸底调研",
    "state": "open",
    "published_version": "2026120601",
    "updated_at": "2026-12-06T08:00:00Z",
}
_VERSION = {
    "version": "2026120601",
    "state": "published",
    "title": "产业链摸底调研",
    "md5": "9b2f0c3e8d1a4b5c6d7e8f9a0b1c2d3e",
    "xlsform_name": "chain_survey.xlsx",
    "media": ["itemsets.csv"],
    "created_by": "zhang.wei",
    "created_at": "2026-12-06T08:00:00Z",
    "published_at": "2026-12-06T09:00:00Z",
}
_SUBMISSION = {
    "instance_id": "uuid:6f1c6a0e-8b1d-4c53-9d0e-2a7b3c4d5e6f",
    "instance_name": "华纺纺织",
    "version": "2026120601",
    "review_state": "received",
    "enterprise_id": 12,
    "submitter": "app-user:3:华纺平板",
    "test": False,
    "created_at": "2026-12-07T02:30:00Z",
    "updated_at": "2026-12-07T02:30:00Z",
}


class SurveyOut(BaseModel):
    """A survey and its published version."""

    model_config = _examples(_SURVEY)

    form_id: str
    title: str
    state: Literal["draft", "open", "closed"]
    published_version: str | None
    updated_at: datetime

    @classmethod
    def of(cls, survey: Survey, published: str | None) -> SurveyOut:
        """The shape of a survey."""
        return cls(
            form_id=survey.form_id,
            title=survey.title,
            state=survey.state,
            published_version=published,
            updated_at=survey.updated_at,
        )


class VersionOut(BaseModel):
    """One version of a form."""

    model_config = _examples(_VERSION)

    version: str
    state: Literal["draft", "published", "retired"]
    title: str
    md5: str
    xlsform_name: str
    media: list[str]
    created_by: str
    created_at: datetime
    published_at: datetime | None

    @classmethod
    def of(cls, v: FormVersion) -> VersionOut:
        """The shape of a version."""
        return cls(
            version=v.version,
            state=v.state,
            title=v.title,
            md5=v.xform_md5,
            xlsform_name=v.xlsform_name,
            media=list(v.media_names),
            created_by=v.created_by,
            created_at=v.created_at,
            published_at=v.published_at,
        )


class ResponseRateOut(BaseModel):
    """Enterprises asked, those that answered, and submissions received."""

    asked: int
    answered: int
    submissions: int
    rate: float

    @classmethod
    def of(cls, r: ResponseRate) -> ResponseRateOut:
        """The shape of a response rate."""
        return cls(asked=r.asked, answered=r.answered, submissions=r.submissions, rate=r.rate)


class SurveyDetailOut(SurveyOut):
    """A survey with its versions and response rate."""

    model_config = _examples(
        {
            **_SURVEY,
            "versions": [_VERSION],
            "response": {"asked": 40, "answered": 12, "submissions": 13, "rate": 0.3},
        }
    )

    versions: list[VersionOut]
    response: ResponseRateOut


class UploadOut(BaseModel):
    """A converted XLSForm kept as its form's draft; the draft token tests it on a device."""

    model_config = _examples(
        {
            "form_id": "chain_survey",
            "version": _VERSION | {"state": "draft"},
            "draft_token": "draft_Yp0…",
            "warnings": [],
        }
    )

    form_id: str
    version: VersionOut
    draft_token: str = Field(
        description="Shown once: ODK Collect's server URL is `{base}/openrosa/test/{draft_token}`."
    )
    warnings: list[str]


class DraftTokenOut(BaseModel):
    """A new token for testing a draft on a device."""

    model_config = _examples({"draft_token": "draft_Yp0…"})

    draft_token: str


class StateIn(BaseModel):
    """Open or close a survey."""

    model_config = _examples({"state": "closed"})

    state: Literal["open", "closed"]


class AssignIn(BaseModel):
    """Who is asked to answer, and by when."""

    model_config = _examples(
        {"scope": "township", "value": "320509102", "deadline": "2026-12-31"},
        {"scope": "selected", "value": "12, 15, 31", "deadline": "2026-12-31"},
    )

    scope: Literal["all", "township", "industry", "selected"]
    value: str = Field(
        "",
        max_length=2000,
        description="Township code, GB/T 4754 class (or a "
        "prefix of one), or enterprise ids separated by commas.",
    )
    deadline: date


class AssignOut(BaseModel):
    """An assignment and how many enterprises it reached."""

    model_config = _examples(
        {
            "id": 3,
            "scope": "township",
            "value": "320509102",
            "deadline": "2026-12-31",
            "enterprises": 40,
        }
    )

    id: int
    scope: str
    value: str
    deadline: date
    enterprises: int


class MySurveyOut(BaseModel):
    """A survey asked of one of the caller's enterprises."""

    model_config = _examples(
        {
            "form_id": "chain_survey",
            "title": "产业链摸底调研",
            "enterprise_id": 12,
            "enterprise": "华纺纺织",
            "deadline": "2026-12-31",
            "answered": False,
        }
    )

    form_id: str
    title: str
    enterprise_id: int
    enterprise: str
    deadline: date
    answered: bool

    @classmethod
    def of(cls, m: MySurvey) -> MySurveyOut:
        """The shape of one asked survey."""
        return cls(
            form_id=m.survey.form_id,
            title=m.survey.title,
            enterprise_id=m.enterprise_id,
            enterprise=m.enterprise_name,
            deadline=m.deadline,
            answered=m.answered,
        )


class AppUserIn(BaseModel):
    """A new app user: for an enterprise, or (no enterprise) for a bureau surveyor."""

    model_config = _examples({"display_name": "华纺平板", "enterprise_id": 12})

    display_name: str = Field(min_length=1, max_length=128)
    enterprise_id: Id | None = None


class AppUserOut(BaseModel):
    """An app user (the token only when it is created)."""

    model_config = _examples(
        {
            "id": 3,
            "display_name": "华纺平板",
            "enterprise_id": 12,
            "created_at": "2026-12-06T08:00:00Z",
            "revoked": False,
            "token": "odk_Q2x…",
            "server_url": "/openrosa/key/odk_Q2x…",
        }
    )

    id: int
    display_name: str
    enterprise_id: int | None
    created_at: datetime
    revoked: bool
    token: str | None = None
    server_url: str | None = Field(
        None,
        description="What ODK Collect is configured with (prefix it with this server's address).",
    )

    @classmethod
    def of(cls, u: AppUser, token: str | None = None) -> AppUserOut:
        """The shape of an app user."""
        return cls(
            id=u.id,
            display_name=u.display_name,
            enterprise_id=u.enterprise_id,
            created_at=u.created_at,
            revoked=u.revoked_at is not None,
            token=token,
            server_url=f"/openrosa/key/{token}" if token else None,
        )


class SubmissionOut(BaseModel):
    """A submission's header."""

    model_config = _examples(_SUBMISSION)

    instance_id: str
    instance_name: str | None
    version: str
    review_state: str
    enterprise_id: int | None
    submitter: str
    test: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Submission, version: str) -> SubmissionOut:
        """The shape of a submission's header."""
        return cls(
            instance_id=s.instance_id,
            instance_name=s.instance_name,
            version=version,
            review_state=s.review_state,
            enterprise_id=s.enterprise_id,
            submitter=s.submitter,
            test=s.test,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class SubmissionPage(Page[SubmissionOut]):
    """A page of submissions."""

    model_config = _examples({"items": [_SUBMISSION], "total": 1, "page": 1, "page_size": 50})


class EventOut(BaseModel):
    """One step of a submission's history."""

    model_config = _examples(
        {
            "at": "2026-12-07T03:00:00Z",
            "actor": "zhang.wei",
            "action": "edit",
            "review_state": "edited",
            "comment": "typo",
            "path": "suppliers[1]/share",
            "before": "50",
            "after": "40",
        }
    )

    at: datetime
    actor: str
    action: str
    review_state: str | None
    comment: str
    path: str | None
    before: Any
    after: Any

    @classmethod
    def of(cls, e: SubmissionEvent) -> EventOut:
        """The shape of an event."""
        return cls(
            at=e.at,
            actor=e.actor,
            action=e.action,
            review_state=e.review_state,
            comment=e.comment,
            path=e.path,
            before=e.before,
            after=e.after,
        )


class SubmissionDetailOut(SubmissionOut):
    """A submission with its answers, attachments and history."""

    model_config = _examples(
        {
            **_SUBMISSION,
            "data": {
                "company": "华纺纺织",
                "suppliers": [{"suppliers/name": "盛泽化纤", "suppliers/share": "40"}],
            },
            "attachments": ["photo.jpg"],
            "events": [],
        }
    )

    data: dict[str, Any]
    attachments: list[str]
    events: list[EventOut]


class ReviewIn(BaseModel):
    """A review decision."""

    model_config = _examples({"review_state": "approved", "comment": "核对无误"})

    review_state: Literal["hasIssues", "approved", "rejected"]
    comment: str = Field("", max_length=2000)


class CommentIn(BaseModel):
    """A comment on a submission."""

    model_config = _examples({"comment": "请补充主要供应商的统一社会信用代码"})

    comment: str = Field(min_length=1, max_length=2000)


class EditIn(BaseModel):
    """A changed answer: its path (``suppliers[2]/share`` inside a repeat) and new value."""

    model_config = _examples({"path": "suppliers[1]/share", "value": "40", "comment": "电话核实"})

    path: str = Field(min_length=1, max_length=300)
    value: str = Field(max_length=10000)
    comment: str = Field("", max_length=2000)
