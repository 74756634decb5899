"""Tables of the surveys context: forms and their versions, assignments, app users, submissions.

A form (``survey_forms``) is the questionnaire as the bureau knows it, keyed by its XLSForm
``form_id``; each upload makes a version (``survey_form_versions``) holding the XLSForm, the
XForm and the field list. A version is a draft until published; publishing retires the one
before. Submissions point at the version they were made with, so a form can change under them.
The web forms of the next slice (Enketo) fill the same versions and land in the same
submissions table (``channel``); the map feeding reads approved submissions' ``data``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, JSONType, UTCDateTime

__all__ = [
    "AppUser",
    "Assignment",
    "FormMedia",
    "FormVersion",
    "Proposal",
    "Submission",
    "SubmissionAttachment",
    "SubmissionEvent",
    "Survey",
    "SurveyTarget",
]


def _enterprise_fk(ondelete: str = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey("enterprises.id", ondelete=ondelete)


class Survey(Base):
    """A questionnaire, identified by its XLSForm form id."""

    __tablename__ = "survey_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    state: Mapped[str] = mapped_column(sa.String(16))  # draft, open, closed
    published_version_id: Mapped[int | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FormVersion(Base):
    """One upload of a form: the XLSForm, its XForm, fields and choices; a draft until published."""

    __tablename__ = "survey_form_versions"
    __table_args__ = (sa.UniqueConstraint("survey_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_forms.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(sa.String(100))
    state: Mapped[str] = mapped_column(sa.String(16))  # draft, published, retired
    title: Mapped[str] = mapped_column(sa.String(300))
    xlsform: Mapped[bytes] = mapped_column(sa.LargeBinary())
    xlsform_name: Mapped[str] = mapped_column(sa.String(200))
    xform: Mapped[str] = mapped_column(sa.Text())
    xform_md5: Mapped[str] = mapped_column(sa.String(32))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    choices: Mapped[dict[str, Any]] = mapped_column(JSONType)
    media_names: Mapped[list[str]] = mapped_column(JSONType)  # files the form refers to
    draft_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True, default=None)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class FormMedia(Base):
    """A file a form version uses (choices for ``select_one_from_file``, images): its manifest."""

    __tablename__ = "survey_form_media"
    __table_args__ = (sa.UniqueConstraint("version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_form_versions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())
    md5: Mapped[str] = mapped_column(sa.String(32))


class Assignment(Base):
    """A survey sent to a set of enterprises (all, a township, an industry class, a list)."""

    __tablename__ = "survey_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_forms.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(sa.String(16))  # all, township, industry, selected
    scope_value: Mapped[str] = mapped_column(sa.String(2000), default="")
    deadline: Mapped[date] = mapped_column(sa.Date())
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SurveyTarget(Base):
    """An enterprise a survey asks to answer, with the deadline of its latest assignment."""

    __tablename__ = "survey_targets"

    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_forms.id", ondelete="CASCADE"), primary_key=True
    )
    enterprise_id: Mapped[int] = mapped_column(_enterprise_fk(), primary_key=True, index=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_assignments.id", ondelete="CASCADE"), index=True
    )
    deadline: Mapped[date] = mapped_column(sa.Date())


class AppUser(Base):
    """A device login as ODK Central has them: a token in the URL, tied to who answers."""

    __tablename__ = "survey_app_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(sa.String(128))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # An enterprise's device answers for it; a surveyor's (no enterprise) names the
    # enterprise in the form's ``credit_code`` question.
    enterprise_id: Mapped[int | None] = mapped_column(_enterprise_fk(), index=True, default=None)
    surveyor_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Submission(Base):
    """One filled form, kept with the version it was made with and its review state."""

    __tablename__ = "survey_submissions"
    __table_args__ = (sa.UniqueConstraint("survey_id", "instance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_forms.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_form_versions.id", ondelete="CASCADE"), index=True
    )
    instance_id: Mapped[str] = mapped_column(sa.String(100))
    instance_name: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    enterprise_id: Mapped[int | None] = mapped_column(
        _enterprise_fk("SET NULL"), index=True, default=None
    )
    app_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("survey_app_users.id", ondelete="SET NULL"), default=None
    )
    submitter: Mapped[str] = mapped_column(sa.String(128))
    channel: Mapped[str] = mapped_column(sa.String(16))  # openrosa (web: the next slice)
    test: Mapped[bool] = mapped_column(default=False)  # made against a draft
    xml: Mapped[str] = mapped_column(sa.Text())
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    review_state: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SubmissionAttachment(Base):
    """A file that came with a submission (a photo, a signature)."""

    __tablename__ = "survey_attachments"
    __table_args__ = (sa.UniqueConstraint("submission_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_submissions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())


class SubmissionEvent(Base):
    """A submission's history: review state changes, comments, answer edits (before/after)."""

    __tablename__ = "survey_submission_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_submissions.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(sa.String(128))
    action: Mapped[str] = mapped_column(sa.String(16))  # received, review, comment, edit
    review_state: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    comment: Mapped[str] = mapped_column(sa.String(2000), default="")
    path: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    before: Mapped[Any] = mapped_column(JSONType, nullable=True, default=None)
    after: Mapped[Any] = mapped_column(JSONType, nullable=True, default=None)


class Proposal(Base):
    """A registry update or a supply edge an approved submission proposes, until decided."""

    __tablename__ = "survey_proposals"
    __table_args__ = (sa.UniqueConstraint("submission_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_forms.id", ondelete="CASCADE"), index=True
    )
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_submissions.id", ondelete="CASCADE")
    )
    enterprise_id: Mapped[int] = mapped_column(_enterprise_fk(), index=True)
    # ``registry:employees``, ``edge:suppliers[2]``: one proposal per answer, however often
    # the submission is approved again.
    key: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(16))  # registry, edge
    before: Mapped[Any] = mapped_column(JSONType, nullable=True, default=None)
    after: Mapped[dict[str, Any]] = mapped_column(JSONType)
    problem: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    state: Mapped[str] = mapped_column(sa.String(16))  # proposed, accepted, rejected
    edge_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
