"""Console forms of the device hub: add a device, and rotate or revoke its credentials.

A device's access token is shown once, on the page that answers the form that made it, with
connection examples for this node's real host and ports (mosquitto_pub, the ThingsBoard Python
SDK, curl). The page is never cached and the token never travels in a URL.
"""

from __future__ import annotations

import json
import secrets
import shlex
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import SessionInfo
from taihu.core import DbSession, Id, RuntimeDep, TaihuError
from taihu.devices import DeviceHub, DeviceService
from taihu.enterprises import EnterpriseService
from taihu.web.console import Signed, render_page
from taihu.web.i18n import gettext_

__all__ = ["connection_examples", "router"]

router = APIRouter(include_in_schema=False)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def connection_examples(
    host: str, mqtt_port: int, http_base: str, token: str, sample: dict[str, Any]
) -> dict[str, str]:
    """Ready-to-copy ways to send one reading with ``token`` to this node."""
    payload = json.dumps(sample, ensure_ascii=False)
    python_sample = repr(sample)
    return {
        "mosquitto_pub": (
            f"mosquitto_pub -h {shlex.quote(host)} -p {mqtt_port} -u {shlex.quote(token)} "
            f"-t v1/devices/me/telemetry -m {shlex.quote(payload)}"
        ),
        "tb_mqtt_client": (
            "# pip install tb-mqtt-client\n"
            "from tb_device_mqtt import TBDeviceMqttClient\n\n"
            f"client = TBDeviceMqttClient({host!r}, {mqtt_port}, username={token!r})\n"
            "client.connect()\n"
            f"client.send_telemetry({python_sample}).get()\n"
            "client.disconnect()"
        ),
        "curl": (
            f"curl -X POST {shlex.quote(f'{http_base}/api/v1/{token}/telemetry')} "
            f"-H 'Content-Type: application/json' -d {shlex.quote(payload)}"
        ),
    }


def _hub(request: Request) -> DeviceHub:
    hub: DeviceHub = request.app.state.device_hub
    return hub


def _mqtt_port(request: Request, runtime: RuntimeDep) -> int:
    listener = _hub(request).listener
    # The listener knows the port it took (the demo takes the next free one); a worker process
    # without the listener names the configured one.
    return listener.port if listener is not None else runtime.settings.mqtt.port


def _sample(telemetry_keys: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k["key"] for k in telemetry_keys if k.get("type", "number") == "number"][:2]
    return dict.fromkeys(keys, 21.5) if keys else {"temperature": 21.5}


async def _credentials(
    request: Request, who: SessionInfo, runtime: RuntimeDep, registry: DeviceService,
    device_id: int, token: str, *, created: bool,
) -> HTMLResponse:  # fmt: skip
    device = await registry.get(who.principal, device_id)
    profile = await registry.profile(device.profile_id)
    host = request.url.hostname or "127.0.0.1"
    http_base = f"{request.url.scheme}://{request.url.netloc}"
    examples = connection_examples(
        host, _mqtt_port(request, runtime), http_base, token, _sample(profile.telemetry_keys)
    )
    page = render_page(
        request, "devices/credentials.html", who, device=device, profile=profile, token=token,
        examples=examples, created=created, mqtt_port=_mqtt_port(request, runtime), host=host,
    )  # fmt: skip
    page.headers.update(_NO_STORE)
    return page


async def _form(
    request: Request, who: SessionInfo, session: DbSession, runtime: RuntimeDep, **context: Any
) -> HTMLResponse:
    principal = who.principal
    enterprises = EnterpriseService(session, runtime.clock)
    if principal.enterprise_ids:
        choices = [await enterprises.get(principal, e) for e in sorted(principal.enterprise_ids)]
    elif principal.is_admin:
        choices = list((await enterprises.list(principal, limit=1000))[0])
    else:
        message = gettext_("Devices are added by their enterprise's users.")
        return render_page(request, "denied.html", who, status_code=403, message=message)
    context.setdefault("chosen", {})
    context.setdefault("error", "")
    return render_page(
        request, "devices/new.html", who, enterprises=choices,
        profiles=await DeviceService(session, runtime.clock).list_profiles(), **context,
    )  # fmt: skip


@router.get("/devices/new", response_class=HTMLResponse)
async def device_form(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    return await _form(request, who, session, runtime)


@router.post("/devices/new", response_model=None)
async def device_submit(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    enterprise_id: Annotated[int, Form(ge=0)] = 0,
    name: Annotated[str, Form(max_length=200)] = "",
    profile: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(pattern="^(device|gateway)$")] = "device",
) -> Response:
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    registry = DeviceService(session, runtime.clock)
    try:
        async with session.begin_nested():  # a refusal leaves nothing behind
            issued = await registry.create(
                who.principal, enterprise_id, name, profile=profile or None,
                gateway=kind == "gateway",
            )  # fmt: skip
    except TaihuError as exc:
        chosen = {"enterprise_id": enterprise_id, "name": name, "profile": profile, "kind": kind}
        return await _form(request, who, session, runtime, status_code=exc.status,
                           error=exc.text(gettext_), chosen=chosen)  # fmt: skip
    return await _credentials(request, who, runtime, registry, issued.device.id, issued.token,
                              created=True)  # fmt: skip


@router.post("/devices/{device_id}/credentials/{action}", response_model=None)
async def device_credentials(
    request: Request,
    device_id: Id,
    action: str,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    later: BackgroundTasks,
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    registry = DeviceService(session, runtime.clock)
    try:
        if action == "rotate":
            token = await registry.rotate_token(who.principal, device_id)
            later.add_task(_hub(request).drop, device_id)  # after the commit, as the API does
            return await _credentials(request, who, runtime, registry, device_id, token,
                                      created=False)  # fmt: skip
        if action == "revoke":
            await registry.revoke_tokens(who.principal, device_id)
            later.add_task(_hub(request).drop, device_id)
            return RedirectResponse(f"/devices/{device_id}#credentials", status_code=303)
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    return Response(status_code=404)
