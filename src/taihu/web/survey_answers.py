"""The survey engine's submissions as programme application forms (``programmes.FormAnswers``).

Programmes and surveys sit in one import-linter layer; the application assembles them here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal
from taihu.core import N_, Clock, InvalidInput
from taihu.surveys import FormVersion, Intake, Part, Review

__all__ = ["SurveyAnswers", "label_in"]


def label_in(label: dict[str, str], language: str) -> str:
    """A question's label in the reader's language (XLSForm's ``label::中文 (zh)`` columns)."""
    code = "zh" if language.startswith("zh") else "en"
    for name, text in label.items():
        if name == code or name.endswith(f"({code})"):
            return text
    return label.get("default") or next(iter(label.values()), "")


class SurveyAnswers:
    """Reads an enterprise's submission of a survey form for a programme application."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock
        self.review = Review(session, clock)

    async def xform(self, actor: Principal, form_id: str, enterprise_id: int) -> bytes:
        """The published XForm of a form the enterprise fills, asked of it or not."""
        intake = Intake(self.session, self.clock)
        _, version = await intake.form(
            await intake.form_filler(actor, enterprise_id, form_id), form_id
        )
        return version.xform.encode()

    async def submit(
        self,
        actor: Principal,
        form_id: str,
        enterprise_id: int,
        xml: bytes,
        parts: list[tuple[str, str, bytes]],
    ) -> str:
        """Store the enterprise's submission of the form (audited as ``survey.submit``)."""
        intake = Intake(self.session, self.clock)
        device = await intake.form_filler(actor, enterprise_id, form_id)
        await intake.form(device, form_id)  # the form must be open
        result = await intake.submit(device, xml, [Part(n, t, c) for n, t, c in parts])
        return result.submission.instance_id

    async def answers(
        self, actor: Principal, form_id: str, enterprise_id: int, instance_id: str
    ) -> dict[str, Any]:
        """``{form_id, instance_id, version, rows}``; rows as ``{path, label, value}``."""
        submission = await self.review.get(actor, form_id, instance_id)  # scoped to the actor
        if submission.enterprise_id != enterprise_id or submission.test:
            raise InvalidInput(
                N_("submission {instance_id} is not the applying enterprise's"),
                code="bad_submission",
                instance_id=instance_id,
            )
        version = await self.session.get(FormVersion, submission.version_id)
        fields = version.fields if version is not None else []
        rows = []
        for field in fields:
            if field.get("repeat") or field["path"] not in submission.data:
                continue  # a repeat's questions are counted on the repeat's own row
            value = submission.data[field["path"]]
            rows.append(
                {
                    "path": field["path"],
                    "label": field.get("label") or {},
                    "value": str(len(value)) if isinstance(value, list) else str(value)[:4000],
                }
            )
        return {
            "form_id": form_id,
            "instance_id": submission.instance_id,
            "version": version.version if version is not None else "",
            "rows": rows,
        }
