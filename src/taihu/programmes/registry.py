"""The registries: who holds which programme's title, at which level and grade, since/until.

Awards come from an application's last stage, from the bureau registering a historical award,
or from an import of an existing list. Expiry reminders list the awards whose validity ends
within N days; counts per programme, level and year feed the bureau's reports.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, SystemClock
from taihu.enterprises import Enterprise, EnterpriseService
from taihu.programmes.models import Award, Programme, ProgrammeApplication
from taihu.programmes.service import ProgrammeService

__all__ = [
    "AwardFilter",
    "AwardRow",
    "RegistryService",
    "award_until",
    "check_grade",
    "grant_award",
]


def award_until(programme: Programme, since: date) -> date | None:
    """The last day of an award's validity (None: the title does not lapse)."""
    if programme.validity_years is None:
        return None
    try:
        end = since.replace(year=since.year + programme.validity_years)
    except ValueError:  # 29 February into a common year
        end = since.replace(year=since.year + programme.validity_years, day=28)
    return end - timedelta(days=1)


def check_grade(programme: Programme, grade: str) -> tuple[str, str]:
    """The (grade, level) of an award: a grade the programme knows, or none where it has none."""
    grade = grade.strip()
    if not programme.grades:
        if grade:
            raise InvalidInput(
                N_("{programme} has no grades"), code="bad_grade", programme=programme.name_en
            )
        return "", programme.level
    for known in programme.grades:
        if grade in (known["key"], known["name_zh"], known["name_en"]):
            return str(known["key"]), str(known.get("level", programme.level))
    raise InvalidInput(
        N_("give one of the grades {grades}"),
        code="bad_grade",
        grades=", ".join(g["key"] for g in programme.grades),
    )


async def grant_award(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    programme: Programme,
    enterprise_id: int,
    *,
    grade: str,
    since: date,
    source: str,
    application_id: int | None = None,
    until: date | None = None,
    note: str = "",
) -> Award:
    """Enter an award in the registry (audited); one per programme, enterprise and year."""
    key, level = check_grade(programme, grade)
    until = until or award_until(programme, since)
    if until is not None and until < since:
        raise InvalidInput(N_("an award cannot end before it starts"), code="bad_dates")
    if await session.scalar(
        sa.select(Award.id).where(
            Award.programme_id == programme.id,
            Award.enterprise_id == enterprise_id,
            Award.year == since.year,
        )
    ):
        raise Conflict(
            N_("the enterprise holds {programme} for {year} already"),
            code="award_exists",
            programme=programme.name_en,
            year=since.year,
        )
    award = Award(
        programme_id=programme.id,
        enterprise_id=enterprise_id,
        level=level,
        grade=key,
        year=since.year,
        since=since,
        until=until,
        source=source,
        application_id=application_id,
        note=note[:500],
        created_at=clock.now(),
    )
    session.add(award)
    await session.flush()
    await record_audit(
        session,
        actor,
        "programme_award.create",
        "programme_award",
        award.id,
        after={
            "programme": programme.key,
            "enterprise_id": enterprise_id,
            "level": level,
            "grade": key,
            "since": since.isoformat(),
            "until": until.isoformat() if until else None,
            "source": source,
        },
        at=clock.now(),
    )
    return award


@dataclass(frozen=True, slots=True)
class AwardFilter:
    """Criteria of a registry listing; ``None`` leaves one out."""

    programme_id: int | None = None
    level: str | None = None
    year: int | None = None
    enterprise_id: int | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        """The filter as SQL conditions."""
        where: list[sa.ColumnElement[bool]] = []
        for column, value in (
            (Award.programme_id, self.programme_id),
            (Award.level, self.level),
            (Award.year, self.year),
            (Award.enterprise_id, self.enterprise_id),
        ):
            if value is not None:
                where.append(column == value)
        return where


@dataclass(frozen=True, slots=True)
class AwardRow:
    """An award with the names a reader needs."""

    award: Award
    programme: Programme
    enterprise: Enterprise


class RegistryService:
    """The registries within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def register(
        self,
        actor: Principal,
        programme_id: int,
        enterprise_id: int,
        *,
        grade: str = "",
        since: date,
        until: date | None = None,
        note: str = "",
    ) -> Award:
        """Register a historical award, won before the platform (bureau)."""
        actor.require_role(Role.BUREAU)
        programme = await ProgrammeService(self.session, self.clock).get(programme_id)
        await EnterpriseService(self.session, self.clock).get(actor, enterprise_id)
        return await grant_award(
            self.session,
            self.clock,
            actor,
            programme,
            enterprise_id,
            grade=grade,
            since=since,
            until=until,
            source="historical",
            note=" ".join(note.split()),
        )

    async def awards(
        self,
        actor: Principal,
        where: AwardFilter | None = None,
        *,
        expiring_days: int | None = None,
    ) -> list[AwardRow]:
        """Awards the actor may see (enterprise users: their own), newest first.

        With ``expiring_days``, only those still valid whose validity ends within that many days.
        """
        conditions = (where or AwardFilter()).conditions()
        if not actor.sees_all_enterprises:
            conditions.append(Award.enterprise_id.in_(sorted(actor.enterprise_ids)))
        order: list[Any] = [Award.since.desc(), Award.id.desc()]
        if expiring_days is not None:
            today = self.clock.now().date()
            conditions += [
                Award.until.is_not(None),
                Award.until >= today,
                Award.until <= today + timedelta(days=expiring_days),
            ]
            order = [Award.until, Award.id]
        rows = await self.session.execute(
            sa.select(Award, Programme, Enterprise)
            .join(Programme, Programme.id == Award.programme_id)
            .join(Enterprise, Enterprise.id == Award.enterprise_id)
            .where(*conditions)
            .order_by(*order)
            .limit(10_000)
        )
        return [AwardRow(a, p, e) for a, p, e in rows]

    async def counts(self, actor: Principal) -> list[dict[str, Any]]:
        """Awards per programme, level and year (staff roles): what reports quote."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        rows = await self.session.execute(
            sa.select(
                Programme.key,
                Programme.name_zh,
                Programme.name_en,
                Award.level,
                Award.year,
                sa.func.count(),
            )
            .join(Programme, Programme.id == Award.programme_id)
            .group_by(Programme.key, Programme.name_zh, Programme.name_en, Award.level, Award.year)
            .order_by(Award.year.desc(), Programme.key, Award.level)
        )
        return [
            {
                "programme": key,
                "name_zh": zh,
                "name_en": en,
                "level": level,
                "year": year,
                "count": int(count),
            }
            for key, zh, en, level, year, count in rows
        ]

    async def export_xlsx(self, actor: Principal, where: AwardFilter | None = None) -> bytes:
        """The registry as a workbook, in the import's layout (so an export imports back)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        book = Workbook()
        sheet = book.active
        assert sheet is not None  # a new workbook always has its first sheet
        sheet.title = "registry"
        sheet.append(
            [
                "programme",
                "项目名称",
                "credit_code",
                "企业名称",
                "level",
                "grade",
                "year",
                "since",
                "until",
                "source",
                "note",
            ]
        )
        rows = await self.awards(actor, where)
        for row in rows:
            a = row.award
            sheet.append(
                [
                    row.programme.key,
                    row.programme.name_zh,
                    row.enterprise.credit_code,
                    row.enterprise.name,
                    a.level,
                    a.grade,
                    a.year,
                    a.since.isoformat(),
                    a.until.isoformat() if a.until else "",
                    a.source,
                    a.note,
                ]
            )
        await self._answers_sheet(book, rows)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    async def _answers_sheet(self, book: Workbook, rows: list[AwardRow]) -> None:
        """A second sheet: the application forms behind the awards, one column per question.

        The first sheet keeps the import's layout (an export imports back); upper departments
        asking for the applicants' answers read them here, keyed by programme, credit code and
        year. A question's column is headed by its Chinese label and path.
        """
        ids = [r.award.application_id for r in rows if r.award.application_id is not None]
        applications: dict[int, ProgrammeApplication] = {}
        for start in range(0, len(ids), 500):  # IN lists in chunks (SQLite's variable limit)
            chunk = ids[start : start + 500]
            found = await self.session.scalars(
                sa.select(ProgrammeApplication).where(ProgrammeApplication.id.in_(chunk))
            )
            applications.update((a.id, a) for a in found)
        questions: dict[str, str] = {}  # path → header, in the order the forms ask them
        for held in applications.values():
            for answer in (held.answers or {}).get("rows", []):
                questions.setdefault(answer["path"], _question_header(answer))
        sheet = book.create_sheet("answers")
        sheet.append(
            ["programme", "credit_code", "企业名称", "year", "application", "contact_name",
             "contact_phone", "summary", "form_id", "instance_id", *questions.values()]
        )  # fmt: skip
        for row in rows:
            behind = applications.get(row.award.application_id or 0)
            if behind is None:
                continue
            application = behind
            answers = application.answers or {}
            given = {a["path"]: a["value"] for a in answers.get("rows", [])}
            form = application.form
            sheet.append(
                [row.programme.key, row.enterprise.credit_code, row.enterprise.name,
                 row.award.year, application.id, *map(_text, (
                     form.get("contact_name", ""), form.get("contact_phone", ""),
                     form.get("summary", ""), answers.get("form_id", ""),
                     answers.get("instance_id", ""), *(given.get(p, "") for p in questions)))]
            )  # fmt: skip


def _text(value: Any) -> Any:
    """An applicant's answer as a cell: text starting with ``=`` is never taken as a formula."""
    if isinstance(value, str) and value.startswith("="):
        return "'" + value
    return value


def _question_header(answer: dict[str, Any]) -> str:
    """A question's column header: its Chinese label (else any) and its path."""
    label: dict[str, str] = answer.get("label") or {}
    chinese = next((t for k, t in label.items() if k == "zh" or k.endswith("(zh)")), "")
    text = chinese or label.get("default") or next(iter(label.values()), "")
    path = str(answer["path"])
    return str(_text(f"{text} [{path}]" if text else path))
