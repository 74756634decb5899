"""`taihu notice …` commands: write, publish and follow notices; run a delivery round."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from taihu.accounts import Principal
from taihu.core import SystemClock
from taihu.core.commands import console, fail, load_settings, open_database, run
from taihu.notices.audience import Audience
from taihu.notices.channels import SmtpMailer, sms_gateway
from taihu.notices.contacts import Contacts
from taihu.notices.jobs import deliver_due, publish_due
from taihu.notices.service import NoticeDraft, NoticeService
from taihu.notices.sms import SmsReceiver

__all__ = ["app"]

app = typer.Typer(help="Notices to enterprises.", no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """List notices, newest first."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await NoticeService(session).recent(Principal.system())
        table = Table("id", "title", "status", "audience", "published")
        for n in rows:
            when = f"{n.published_at:%Y-%m-%d %H:%M}" if n.published_at else ""
            table.add_row(
                str(n.id),
                n.title,
                n.status,
                f"{n.audience_kind} {' '.join(n.audience_refs)}".strip(),
                when,
            )
        console.print(table)

    run(_run())


@app.command("create")
def create(
    title: str = typer.Argument(..., help="The notice's title."),
    body: Path = typer.Option(..., "--body", help="A Markdown file holding the body."),
    audience: str = typer.Option("all", "--audience", help="all, township, industry, chain, "
                                 "list or enterprises."),
    ref: list[str] = typer.Option([], "--ref", help="A reference of the audience (repeat)."),
    channel: list[str] = typer.Option([], "--channel", help="email or sms (repeat)."),
    require_ack: bool = typer.Option(False, "--require-ack", help="Ask for acknowledgement."),
) -> None:  # fmt: skip
    """Write a notice draft."""
    draft = NoticeDraft(title, body.read_text(encoding="utf-8"), Audience(audience, tuple(ref)),
                        channels=tuple(channel), require_ack=require_ack)  # fmt: skip

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            notice = await NoticeService(session).create(Principal.system(), draft)
        console.print(f"created notice {notice.id} (draft)", highlight=False)

    run(_run())


@app.command("publish")
def publish(
    notice_id: int = typer.Argument(..., help="The notice's id."),
    at: str | None = typer.Option(
        None, "--at", help="Publish then (ISO 8601; without a zone, the console's), not now."
    ),
) -> None:
    """Publish a draft now, or schedule it."""
    settings = load_settings()
    when = None
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            fail(f"--at: {at!r} is not a time such as 2026-12-07T09:00 or 2026-12-07T09:00+08:00")
        if when.tzinfo is None:
            when = when.replace(tzinfo=settings.console.zone)

    async def _run() -> None:
        async with open_database(settings) as db, db.session() as session:
            notice = await NoticeService(session).publish(Principal.system(), notice_id, when)
        console.print(f"notice {notice.id}: {notice.status}"
                      + (f", at {notice.publish_at:%Y-%m-%d %H:%M %Z}"
                         if notice.status == "draft" and notice.publish_at else ""),
                      highlight=False)  # fmt: skip

    run(_run())


@app.command("withdraw")
def withdraw(notice_id: int = typer.Argument(..., help="The notice's id.")) -> None:
    """Withdraw a notice."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            await NoticeService(session).withdraw(Principal.system(), notice_id)
        console.print(f"notice {notice_id}: withdrawn", highlight=False)

    run(_run())


@app.command("receipts")
def receipts(notice_id: int = typer.Argument(..., help="The notice's id.")) -> None:
    """Who has read and acknowledged a notice, and who not yet."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await NoticeService(session).receipts(Principal.system(), notice_id)
        table = Table("enterprise", "read", "acknowledged", "reminders", "sent/pending/failed",
                      title=f"{sum(1 for r in rows if r.read_at)} of {len(rows)} read")  # fmt: skip
        for r in rows:
            d = r.deliveries
            table.add_row(r.enterprise_name, f"{r.read_at:%Y-%m-%d %H:%M}" if r.read_at else "-",
                          f"{r.acknowledged_at:%Y-%m-%d %H:%M}" if r.acknowledged_at else "-",
                          str(r.reminders), f"{d.sent}/{d.pending}/{d.failed}")  # fmt: skip
        console.print(table)

    run(_run())


@app.command("remind")
def remind(notice_id: int = typer.Argument(..., help="The notice's id.")) -> None:
    """Remind the recipients who have not read (or acknowledged) a notice."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            count = await NoticeService(session).remind(Principal.system(), notice_id)
        console.print(f"{count} enterprises reminded", highlight=False)

    run(_run())


@app.command("contact")
def contact(
    enterprise_id: int = typer.Argument(..., help="The enterprise's id."),
    name: str = typer.Argument(..., help="The contact person's name."),
    email: str | None = typer.Option(None, "--email", help="E-mail address."),
    phone: str | None = typer.Option(None, "--phone", help="Mainland China mobile number."),
    role: str | None = typer.Option(None, "--role", help="Their role (安全员, 负责人…)."),
    consent: str | None = typer.Option(
        None, "--consent", help="How they agreed to receive notices (SMS need it)."
    ),
    sms_opt_out: bool = typer.Option(False, "--sms-opt-out", help="No SMS to them (退订)."),
) -> None:
    """Add or change an enterprise's notice contact."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await Contacts(session).set(Principal.system(), enterprise_id, name, email,
                                              phone, role=role, consent=consent,
                                              sms_opt_out=sms_opt_out)  # fmt: skip
        console.print(f"contact {row.id}: {row.name} {row.email or ''} {row.phone or ''}".strip(),
                      highlight=False)  # fmt: skip

    run(_run())


@app.command("deliver")
def deliver() -> None:
    """One delivery round: publish due notices, send due e-mail and SMS (as the server does)."""
    settings = load_settings()
    mailer = SmtpMailer(settings.notices)

    async def _run() -> None:
        async with open_database(settings) as db:
            clock = SystemClock()
            published = await publish_due(db, clock)
            sms = sms_gateway(settings.sms)
            try:
                done = await deliver_due(db, clock, settings.notices,
                                         mailer=mailer if mailer.configured else None,
                                         sms=sms, translate=str,
                                         sms_settings=settings.sms)  # fmt: skip
            finally:
                if isinstance(sms, SmsReceiver):  # unbind; the server's bind takes the reports
                    await sms.aclose()
        console.print(f"published {len(published)}, sent {done.sent}, retrying {done.retrying}, "
                      f"failed {done.failed}, unknown {done.unknown}", highlight=False)  # fmt: skip

    run(_run())
