"""Application forms kept elsewhere (the survey engine's XLSForms), behind a small interface.

Programmes and surveys are in the same import-linter layer: neither imports the other. A
programme names a survey form by its id; the layer that assembles both (``web``) gives
``ProgrammeApplications`` a ``FormAnswers`` that reads the applicant's submission of that form.
The answers are kept with the application as opaque rows (a question's path, its labels by
language, the answer). The same interface serves the programme's form to an applying
enterprise and takes its submission, whether or not the survey was asked of that enterprise.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from taihu.accounts import Principal
from taihu.core import N_, InvalidInput

__all__ = ["FilePart", "FormAnswers", "check_form_id"]

# An attachment of a submission: file name, content type, bytes.
FilePart = tuple[str, str, bytes]

_FORM_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


def check_form_id(form_id: str | None) -> str | None:
    """A survey form id as a programme keeps it (``None`` for the built-in form)."""
    if form_id is None or not form_id.strip():
        return None
    form_id = form_id.strip()
    if not _FORM_ID.match(form_id):
        raise InvalidInput(
            N_("{form_id} is not a survey form id"), code="bad_form_id", form_id=form_id[:64]
        )
    return form_id


class FormAnswers(Protocol):
    """Reads an enterprise's filled form for an application (the survey engine, in the app)."""

    async def answers(
        self, actor: Principal, form_id: str, enterprise_id: int, instance_id: str
    ) -> dict[str, Any]:
        """The enterprise's submission as ``{form_id, instance_id, version, rows}``.

        A ``TaihuError`` says why it cannot be used (missing, another enterprise's, a test).
        """
        ...

    async def xform(self, actor: Principal, form_id: str, enterprise_id: int) -> bytes:
        """The form's published XForm, for the enterprise's own users."""
        ...

    async def submit(
        self,
        actor: Principal,
        form_id: str,
        enterprise_id: int,
        xml: bytes,
        parts: list[FilePart],
    ) -> str:
        """Store the enterprise's filled form (an OpenRosa instance); its ``instance_id``."""
        ...
