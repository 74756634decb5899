"""The documents of a prefix application that real-name review (实名审核) reads.

An enterprise applies with its contact person and phone and a scan of its business licence
(营业执照): PDF, PNG or JPEG, told apart by their first bytes (never by the name or the type the
browser claims), at most ``MAX_DOCUMENT`` bytes. The file is stored in the database beside the
application, in the same unit of work, so an application never exists without its documents.
Only reviewers (admin, auditor) read the file; the applicant sees its name and size.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Base, Clock, InvalidInput, NotFound, SystemClock, UTCDateTime
from taihu.enterprises import Enterprise
from taihu.identifiers.models import PrefixApplication
from taihu.identifiers.prefixes.applications import ApplicationService

__all__ = [
    "DOCUMENT_TYPES",
    "MAX_DOCUMENT",
    "ApplicationDocument",
    "DocumentUpload",
    "PrefixApplicationForm",
    "apply_with_documents",
    "document_type",
    "documents_of",
    "read_document",
]

MAX_DOCUMENT = 5 * 1024 * 1024
# Content type → the bytes such a file starts with.
DOCUMENT_TYPES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,22}[0-9]$")


class ApplicationDocument(Base):
    """A file attached to a prefix application (the business licence scan)."""

    __tablename__ = "id_application_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("id_applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))  # business_licence
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.Integer())
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True, slots=True)
class DocumentUpload:
    """A file as it arrived: its name and bytes."""

    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class PrefixApplicationForm:
    """What an enterprise fills in to apply for a prefix."""

    enterprise_id: int
    contact_name: str
    contact_phone: str
    industry_class: str
    licence: DocumentUpload
    prefix: str | None = None


def document_type(upload: DocumentUpload) -> str:
    """The content type of an accepted document, or ``InvalidInput`` naming what is accepted."""
    if not upload.content:
        raise InvalidInput(
            N_("the file {file} is empty"), code="bad_document", file=upload.filename
        )
    if len(upload.content) > MAX_DOCUMENT:
        raise InvalidInput(
            N_("the file {file} is larger than {mb} MB"), code="bad_document",
            file=upload.filename, mb=MAX_DOCUMENT // (1024 * 1024),
        )  # fmt: skip
    for content_type, magics in DOCUMENT_TYPES.items():
        if upload.content.startswith(magics):
            return content_type
    raise InvalidInput(
        N_("the file {file} is not a PDF, PNG or JPEG scan"), code="bad_document",
        file=upload.filename,
    )  # fmt: skip


def _clean_filename(name: str) -> str:
    # Only the last path part, without control characters: it is shown and sent back as is.
    base = re.split(r"[\\/]", name)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[:255] or "document"


async def apply_with_documents(
    session: AsyncSession, actor: Principal, form: PrefixApplicationForm, clock: Clock | None = None
) -> PrefixApplication:
    """Apply for a prefix with the contact and the licence scan; nothing is kept if any is bad."""
    clock = clock or SystemClock()
    name = " ".join(form.contact_name.split())
    phone = " ".join(form.contact_phone.split())
    if not 2 <= len(name) <= 80:
        raise InvalidInput(N_("give the contact person's name"), code="bad_contact")
    if not _PHONE.match(phone):
        raise InvalidInput(
            N_("{phone} is not a phone number"), code="bad_contact_phone", phone=phone[:40]
        )
    content_type = document_type(form.licence)
    actor.require_enterprise(form.enterprise_id)
    if await session.get(Enterprise, form.enterprise_id) is None:
        raise NotFound(
            N_("no enterprise {enterprise}"), code="enterprise_not_found",
            enterprise=form.enterprise_id,
        )  # fmt: skip
    row = await ApplicationService(session, clock).apply(
        actor, form.enterprise_id, contact=f"{name} {phone}",
        industry_class=form.industry_class.strip(), prefix=form.prefix or None,
    )  # fmt: skip
    document = ApplicationDocument(
        application_id=row.id, kind="business_licence",
        filename=_clean_filename(form.licence.filename), content_type=content_type,
        size=len(form.licence.content), sha256=hashlib.sha256(form.licence.content).hexdigest(),
        content=form.licence.content, uploaded_at=clock.now(),
    )  # fmt: skip
    session.add(document)
    await session.flush()
    await record_audit(
        session, actor, "prefix_application.document", "prefix_application", row.id,
        after={"document": document.id, "kind": document.kind, "file": document.filename,
               "size": document.size, "sha256": document.sha256}, at=clock.now(),
    )  # fmt: skip
    return row


async def documents_of(
    session: AsyncSession, actor: Principal, application_id: int
) -> list[ApplicationDocument]:
    """The documents of an application the actor may see (their bytes are not loaded)."""
    await ApplicationService(session).get(actor, application_id)
    rows = await session.scalars(
        sa.select(ApplicationDocument)
        .where(ApplicationDocument.application_id == application_id)
        .order_by(ApplicationDocument.id)
        .options(sa.orm.defer(ApplicationDocument.content))
    )
    return list(rows)


async def read_document(
    session: AsyncSession, actor: Principal, application_id: int, document_id: int,
    clock: Clock | None = None,
) -> ApplicationDocument:  # fmt: skip
    """A document's bytes for a reviewer; each reading is audited (the scan is personal data)."""
    actor.require_role(Role.AUDITOR)
    await ApplicationService(session).get(actor, application_id)
    row = await session.get(ApplicationDocument, document_id)
    if row is None or row.application_id != application_id:
        raise NotFound(
            N_("no document {document} in application {application}"),
            code="document_not_found", document=document_id, application=application_id,
        )  # fmt: skip
    await record_audit(
        session, actor, "prefix_application.document_read", "prefix_application",
        application_id, after={"document": row.id}, at=(clock or SystemClock()).now(),
    )  # fmt: skip
    return row
