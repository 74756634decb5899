"""File fields left empty, as a browser sends them (``filename=""``), pair with their kinds."""

from __future__ import annotations

import httpx

from taihu.accounts import Role
from tests.conftest import CODE_A, World
from tests.programmes.test_applications import FIELDS, PDF
from tests.programmes.test_pages import _csrf, _programme_id
from tests.web.test_console import sign_in


def _multipart(fields: list[tuple[str, str]], files: list[tuple[str, bytes]]) -> bytes:
    """A body as Chromium builds it: an empty file field is a part with ``filename=""``."""
    parts = [
        f'--XX\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    parts += [
        f'--XX\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
        for filename, content in files
    ]
    return b"".join(parts) + b"--XX--\r\n"


async def test_a_resubmission_with_no_new_files_goes_through(
    client: httpx.AsyncClient, world: World
) -> None:
    silk = await world.enterprise("Wujiang Silk", CODE_A)
    await world.user("silk", Role.ENTERPRISE, enterprises=(silk.id,))
    bureau = await world.bearer("bureau", Role.BUREAU)
    await sign_in(client, "silk")
    programme = await _programme_id(client, "cloud_stars")
    csrf = _csrf((await client.get(f"/programmes/{programme}")).text)
    kinds = [("kind", "licence"), ("kind", "application_form")]
    head = {"content-type": "multipart/form-data; boundary=XX"}
    fields = [*FIELDS.items(), ("csrf", csrf), ("programme_id", str(programme)),
              ("enterprise_id", str(silk.id)), *kinds]  # fmt: skip
    sent = await client.post(
        "/programmes/apply",
        content=_multipart(fields, [("l.pdf", PDF), ("f.pdf", PDF)]),
        headers=head,
    )
    assert sent.status_code == 303, sent.text
    application = int(sent.headers["location"].rsplit("/", 1)[1])
    returned = await client.post(
        "/api/programmes/decisions",
        data={"application_id": str(application), "decision": "return", "comment": "请补充"},
        headers=bureau,
    )
    assert returned.status_code == 200, returned.text
    again = [("csrf", csrf), ("application_id", str(application)), ("action", "resubmit"),
             ("summary", "设备上云 120 台 清单"), ("comment", "已补充"), *kinds]  # fmt: skip
    resubmitted = await client.post(
        "/programmes/resubmit", content=_multipart(again, [("", b""), ("", b"")]), headers=head
    )
    assert resubmitted.status_code == 303, resubmitted.text
    page = await client.get(resubmitted.headers["location"])
    assert "审核中" in page.text
