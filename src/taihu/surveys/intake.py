"""Devices and what they send: app users (tokens in the URL) and OpenRosa submissions.

An app user is ODK Central's device login: a long random token that ODK Collect carries in the
server URL (``…/key/{token}``). It answers for one enterprise, or for a bureau surveyor, whose
submissions name the enterprise in the form's ``credit_code`` question. A draft version has a
token of its own (``…/test/{token}``) so a form can be tried on a device before it is published;
those submissions are marked ``test`` and go when the draft is published.

The same instanceID twice is one submission: the same XML again adds the attachments that had
not arrived yet (Collect splits large submissions over several requests); different XML is a
conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import (
    N_,
    Clock,
    Conflict,
    InvalidInput,
    NotFound,
    SystemClock,
    Unauthenticated,
    hash_token,
    new_token,
)
from taihu.enterprises import Enterprise
from taihu.surveys.models import (
    AppUser,
    FormVersion,
    Submission,
    SubmissionAttachment,
    SubmissionEvent,
    Survey,
    SurveyTarget,
)
from taihu.surveys.openrosa import Instance, InstanceError, answers, parse_instance

__all__ = ["Device", "Intake", "IssuedAppUser", "Part", "SubmitResult"]

CREDIT_CODE_FIELD = "credit_code"


@dataclass(frozen=True, slots=True)
class IssuedAppUser:
    """A new app user and its token, shown once."""

    app_user: AppUser
    token: str


@dataclass(frozen=True, slots=True)
class Device:
    """Who is at the other end of an OpenRosa request: an app user, or a draft's tester."""

    name: str
    app_user: AppUser | None = None
    draft: FormVersion | None = None
    enterprise_id: int | None = None  # a console user filling a web form for its enterprise
    channel: str = "openrosa"
    # The one form this device fills whether or not the survey is asked of its enterprise (a
    # programme's application form: any enterprise may apply).
    form_id: str | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """An attachment part of a submission."""

    name: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What a submission did: stored anew, or completed/confirmed an earlier one."""

    submission: Submission
    created: bool
    attachments_added: int
    # Files the instance names (its image, audio, video, file questions' values) that have not
    # arrived yet, in this request or an earlier one: Collect sends them in a later part.
    attachments_missing: tuple[str, ...] = ()


class Intake:
    """App users, the forms a device sees and the submissions it sends."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    # -- app users ------------------------------------------------------------------------

    async def create_app_user(
        self,
        actor: Principal,
        display_name: str,
        *,
        enterprise_id: int | None = None,
        surveyor_user_id: int | None = None,
    ) -> IssuedAppUser:
        """An app user for an enterprise (its own users or the bureau) or for a bureau surveyor."""
        name = " ".join(display_name.split())
        if not name or len(name) > 128:
            raise InvalidInput(
                N_("an app user's name needs 1 to 128 characters"), code="bad_app_user_name"
            )
        if enterprise_id is None:
            actor.require_role(Role.BUREAU)
        else:
            if actor.role is not Role.BUREAU:
                actor.require_enterprise(enterprise_id)
            if await self.session.get(Enterprise, enterprise_id) is None:
                raise NotFound(
                    N_("no enterprise {id}"), code="enterprise_not_found", id=enterprise_id
                )
        plain, token_hash = new_token("odk")
        now = self.clock.now()
        user = AppUser(
            display_name=name,
            token_hash=token_hash,
            enterprise_id=enterprise_id,
            surveyor_user_id=surveyor_user_id if enterprise_id is None else None,
            created_by=actor.name,
            created_at=now,
        )
        self.session.add(user)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "survey.app_user.create",
            "survey_app_user",
            user.id,
            after={"name": name, "enterprise_id": enterprise_id},
            at=now,
        )
        return IssuedAppUser(app_user=user, token=plain)

    async def list_app_users(self, actor: Principal) -> list[AppUser]:
        """App users the principal may see: all for staff, its enterprises' for enterprise users."""
        query = sa.select(AppUser).order_by(AppUser.id)
        if not actor.sees_all_enterprises:
            query = query.where(AppUser.enterprise_id.in_(actor.enterprise_ids))
        return list(await self.session.scalars(query))

    async def revoke_app_user(self, actor: Principal, app_user_id: int) -> AppUser:
        """Stop an app user's token from working."""
        user = await self.session.get(AppUser, app_user_id)
        if user is None or (
            user.enterprise_id is not None and not actor.can_see_enterprise(user.enterprise_id)
        ):
            raise NotFound(N_("no app user {id}"), code="app_user_not_found", id=app_user_id)
        if user.enterprise_id is None or actor.role is not Role.BUREAU:
            if user.enterprise_id is None:
                actor.require_role(Role.BUREAU)
            else:
                actor.require_enterprise(user.enterprise_id)
        if user.revoked_at is None:
            user.revoked_at = self.clock.now()
            await record_audit(
                self.session,
                actor,
                "survey.app_user.revoke",
                "survey_app_user",
                user.id,
                after={"revoked": True},
            )
        return user

    # -- devices --------------------------------------------------------------------------

    async def device(self, token: str) -> Device:
        """The app user a ``/key/{token}`` URL names (401 when unknown or revoked)."""
        user = await self.session.scalar(
            sa.select(AppUser).where(AppUser.token_hash == hash_token(token))
        )
        if user is None or user.revoked_at is not None:
            raise Unauthenticated(
                N_("this app user token is unknown or revoked"), code="bad_app_user_token"
            )
        return Device(name=f"app-user:{user.id}:{user.display_name}", app_user=user)

    async def tester(self, token: str) -> Device:
        """The draft a ``/test/{token}`` URL names."""
        draft = await self.session.scalar(
            sa.select(FormVersion).where(FormVersion.draft_token_hash == hash_token(token))
        )
        if draft is None or draft.state != "draft":
            raise Unauthenticated(
                N_("this draft token is unknown or the draft is gone"), code="bad_draft_token"
            )
        return Device(name=f"draft-tester:{draft.id}", draft=draft)

    async def forms(self, device: Device) -> list[tuple[Survey, FormVersion]]:
        """The forms a device gets: the draft it tests, or the open surveys meant for it."""
        if device.draft is not None:
            survey = await self.session.get(Survey, device.draft.survey_id)
            assert survey is not None
            return [(survey, device.draft)]
        query = (
            sa.select(Survey, FormVersion)
            .join(FormVersion, FormVersion.id == Survey.published_version_id)
            .where(Survey.state == "open")
            .order_by(Survey.form_id)
        )
        user = device.app_user
        enterprise_id = user.enterprise_id if user is not None else device.enterprise_id
        if device.form_id is not None:  # its one form, asked of its enterprise or not
            query = query.where(Survey.form_id == device.form_id)
        elif enterprise_id is not None:
            query = query.join(
                SurveyTarget,
                sa.and_(
                    SurveyTarget.survey_id == Survey.id,
                    SurveyTarget.enterprise_id == enterprise_id,
                ),
            )
        return [(s, v) for s, v in (await self.session.execute(query)).all()]

    async def form(self, device: Device, form_id: str) -> tuple[Survey, FormVersion]:
        """One form a device may download."""
        for survey, version in await self.forms(device):
            if survey.form_id == form_id:
                return survey, version
        raise NotFound(
            N_("no form {form_id} for this device"), code="form_not_found", form_id=form_id
        )

    async def web_filler(self, actor: Principal, enterprise_id: int) -> Device:
        """A console user filling web forms for one of its enterprises (the bureau for any)."""
        if actor.role is not Role.BUREAU:
            actor.require_enterprise(enterprise_id)
        if await self.session.get(Enterprise, enterprise_id) is None:
            raise NotFound(N_("no enterprise {id}"), code="enterprise_not_found", id=enterprise_id)
        return Device(name=f"web:{actor.name}", enterprise_id=enterprise_id, channel="web")

    async def form_filler(self, actor: Principal, enterprise_id: int, form_id: str) -> Device:
        """An enterprise's own user filling one open form for it, asked of it or not.

        For forms any enterprise may fill, such as a programme's application form: the caller
        (the programmes' routes) has checked that the form is one.
        """
        actor.require_enterprise(enterprise_id)
        if await self.session.get(Enterprise, enterprise_id) is None:
            raise NotFound(N_("no enterprise {id}"), code="enterprise_not_found", id=enterprise_id)
        return Device(
            name=f"web:{actor.name}", enterprise_id=enterprise_id, channel="web", form_id=form_id
        )

    async def web_tester(self, actor: Principal, form_id: str) -> Device:
        """The bureau trying a survey's draft in the browser (submissions marked ``test``)."""
        actor.require_role(Role.BUREAU)
        draft = await self.session.scalar(
            sa.select(FormVersion)
            .join(Survey, Survey.id == FormVersion.survey_id)
            .where(Survey.form_id == form_id, FormVersion.state == "draft")
        )
        if draft is None:
            raise NotFound(
                N_("survey {form_id} has no draft to try"), code="no_draft", form_id=form_id
            )
        return Device(name=f"web-tester:{actor.name}", draft=draft, channel="web")

    # -- submissions ----------------------------------------------------------------------

    async def submit(self, device: Device, xml: bytes, parts: list[Part]) -> SubmitResult:
        """Store a submission (or complete an earlier one with the same instanceID)."""
        try:
            instance = parse_instance(xml)
        except InstanceError as exc:
            raise InvalidInput(
                N_("the submission cannot be read: {reason}"),
                code="bad_submission",
                reason=str(exc),
            ) from None
        survey, version = await self._version_for(device, instance)
        text = xml.decode("utf-8", errors="replace")
        existing = await self.session.scalar(
            sa.select(Submission).where(
                Submission.survey_id == survey.id, Submission.instance_id == instance.instance_id
            )
        )
        if existing is not None:
            if existing.xml != text:
                raise Conflict(
                    N_("a different submission with instanceID {instance_id} exists"),
                    code="duplicate_instance",
                    instance_id=instance.instance_id,
                )
            added = await self._attach(existing, parts)
            missing = await self._missing(existing, existing.data, version)
            return SubmitResult(existing, created=False, attachments_added=added,
                                attachments_missing=missing)  # fmt: skip
        enterprise_id = await self._enterprise_of(device, version, instance)
        now = self.clock.now()
        repeats = {f["path"] for f in version.fields if f["type"] == "repeat"}
        submission = Submission(
            survey_id=survey.id,
            version_id=version.id,
            instance_id=instance.instance_id,
            instance_name=(instance.instance_name or None) and instance.instance_name[:300],
            enterprise_id=enterprise_id,
            app_user_id=device.app_user.id if device.app_user else None,
            submitter=device.name[:128],
            channel=device.channel,
            test=device.draft is not None,
            xml=text,
            data=answers(instance, repeats),
            review_state="received",
            created_at=now,
            updated_at=now,
        )
        self.session.add(submission)
        await self.session.flush()
        self.session.add(
            SubmissionEvent(
                submission_id=submission.id,
                at=now,
                actor=device.name,
                action="received",
                review_state="received",
            )
        )
        added = await self._attach(submission, parts)
        actor = Principal(name=device.name[:128], role=Role.ENTERPRISE)
        await record_audit(
            self.session,
            actor,
            "survey.submit",
            "survey_submission",
            submission.id,
            after={
                "form_id": survey.form_id,
                "version": version.version,
                "instance_id": instance.instance_id,
                "enterprise_id": enterprise_id,
                "test": submission.test,
            },
            at=now,
        )
        missing = await self._missing(submission, submission.data, version)
        return SubmitResult(submission, created=True, attachments_added=added,
                            attachments_missing=missing)  # fmt: skip

    async def _version_for(self, device: Device, instance: Instance) -> tuple[Survey, FormVersion]:
        survey, current = await self.form(device, instance.form_id)
        if instance.version == current.version:
            return survey, current
        # A device may still send what it filled with the version before (Collect keeps it).
        older = await self.session.scalar(
            sa.select(FormVersion).where(
                FormVersion.survey_id == survey.id,
                FormVersion.version == instance.version,
                FormVersion.state == "retired",
            )
        )
        if older is None or device.draft is not None:
            raise Conflict(
                N_("form {form_id} has no version {version} here"),
                code="unknown_version",
                form_id=instance.form_id,
                version=instance.version or "-",
            )
        return survey, older

    async def _enterprise_of(
        self, device: Device, version: FormVersion, instance: Instance
    ) -> int | None:
        user = device.app_user
        if user is not None and user.enterprise_id is not None:
            return user.enterprise_id
        if device.enterprise_id is not None:
            return device.enterprise_id
        if not any(f["path"] == CREDIT_CODE_FIELD for f in version.fields):
            return None
        code = str(answers(instance, set()).get(CREDIT_CODE_FIELD, "")).strip().upper()
        if not code:
            return None
        enterprise_id = await self.session.scalar(
            sa.select(Enterprise.id).where(Enterprise.credit_code == code)
        )
        if enterprise_id is None and device.draft is None:
            raise InvalidInput(
                N_("no enterprise has the credit code {credit_code}"),
                code="enterprise_not_found",
                credit_code=code,
            )
        return enterprise_id

    async def _attached(self, submission: Submission) -> set[str]:
        return set(
            await self.session.scalars(
                sa.select(SubmissionAttachment.name).where(
                    SubmissionAttachment.submission_id == submission.id
                )
            )
        )

    async def _missing(
        self, submission: Submission, data: dict[str, Any], version: FormVersion
    ) -> tuple[str, ...]:
        paths = {f["path"] for f in version.fields if f["type"] in FILE_TYPES}
        named = _file_names(data, paths) if paths else set()
        return tuple(sorted(named - await self._attached(submission))) if named else ()

    async def _attach(self, submission: Submission, parts: list[Part]) -> int:
        have = await self._attached(submission)
        added = 0
        for part in parts:
            name = part.name.rsplit("/", 1)[-1][:200]
            if not name or name in have:
                continue
            self.session.add(
                SubmissionAttachment(
                    submission_id=submission.id,
                    name=name,
                    content_type=part.content_type[:100] or "application/octet-stream",
                    content=part.content,
                )
            )
            have.add(name)
            added += 1
        await self.session.flush()
        return added


# The question types whose answer is a file's name (pyxform writes an XLSForm's ``image`` as
# ``photo``).
FILE_TYPES = frozenset(
    {"photo", "image", "audio", "video", "file", "background-audio", "background-video"}
)


def _file_names(data: dict[str, Any], paths: set[str]) -> set[str]:
    """The file names answered at ``paths``, in the form and inside its repeats' rows."""
    found: set[str] = set()
    for path, value in data.items():
        if isinstance(value, list):
            for row in value:
                found |= _file_names(row, paths)
        elif path in paths and isinstance(value, str) and value.strip():
            found.add(value.strip().rsplit("/", 1)[-1][:200])
    return found
