"""Tencent Cloud SMS (API 3.0, version 2021-01-11): SendSms signed with TC3-HMAC-SHA256.

The signature follows the public "Signature v3" page: a canonical request (method, ``/``, empty
query, the ``content-type`` and ``host`` headers, their names, the hex SHA-256 of the JSON
payload); the string to sign (algorithm, timestamp, credential scope ``date/sms/tc3_request``,
hex SHA-256 of the canonical request); a key derived by HMAC-SHA256 chained over
``"TC3" + SecretKey``, the UTC date, the service and ``tc3_request``. One call carries up to 200
numbers; ``SendStatusSet`` answers per number, ``SessionContext`` comes back in the reports.

SendSms is not idempotent: ``SessionContext`` is only echoed. See ``outbox.py`` for what the
outbox does about a call whose outcome it does not know.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from taihu.notices.sms import DeliveryReport, SmsBatch, SmsOutcome, SmsRetry, SmsUncertain
from taihu.settings import SmsSettings

__all__ = ["TencentSms", "tc3_authorization", "tencent_reports"]

ENDPOINT = "https://sms.tencentcloudapi.com/"
SERVICE, VERSION, CONTENT_TYPE = "sms", "2021-01-11", "application/json; charset=utf-8"
# Refusals of the whole call worth another try: throttled, down, or a key/signature refused
# (nothing sent; a corrected setting sends them later, within the tries).
_RETRY_PREFIXES = ("RequestLimitExceeded", "InternalError", "ResourceUnavailable", "AuthFailure")
# Per-number codes worth another try later (frequency limits); other failures are final.
_NUMBER_RETRY_PREFIXES = ("LimitExceeded.PhoneNumber", "InternalError")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_authorization(
    secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int
) -> str:
    """The ``Authorization`` header of a POST with a JSON payload."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join([
        "POST", "/", "", f"content-type:{CONTENT_TYPE}\nhost:{host}\n", "content-type;host",
        hashlib.sha256(payload).hexdigest(),
    ])  # fmt: skip
    scope = f"{date}/{SERVICE}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])  # fmt: skip
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
            f"SignedHeaders=content-type;host, Signature={signature}")  # fmt: skip


class TencentSms:
    """SendSms on Tencent Cloud (or an endpoint speaking its API)."""

    name = "tencent"

    def __init__(self, settings: SmsSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.endpoint = settings.endpoint or ENDPOINT
        self.batch_size = min(settings.batch_size or 200, 200)
        self.client = client or httpx.AsyncClient(timeout=settings.timeout)

    async def send(self, batch: SmsBatch) -> list[SmsOutcome]:
        """Send the batch in one SendSms call; one outcome per number."""
        s = self.settings
        body = {
            "PhoneNumberSet": [f"+86{p}" for p in batch.phones], "SmsSdkAppId": s.sdk_app_id,
            "SignName": s.sign_name, "TemplateId": batch.template,
            "TemplateParamSet": list(batch.params.values()), "SessionContext": batch.out_id,
        }  # fmt: skip
        payload = json.dumps(body, ensure_ascii=False).encode()
        timestamp = int(datetime.now(UTC).timestamp())
        host = urlsplit(self.endpoint).netloc
        headers = {
            "Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": "SendSms",
            "X-TC-Version": VERSION, "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": s.region or "ap-guangzhou",
            "Authorization": tc3_authorization(s.access_key_id,
                                               s.access_key_secret.get_secret_value(), host,
                                               payload, timestamp),
        }  # fmt: skip
        try:
            response = await self.client.post(self.endpoint, content=payload, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise SmsRetry(f"{type(exc).__name__}: {exc}"[:300]) from exc
        except httpx.HTTPError as exc:  # the request may have reached the provider
            raise SmsUncertain(f"{type(exc).__name__}: {exc}"[:300]) from exc
        try:
            answer: dict[str, Any] = response.json()["Response"]
        except (ValueError, KeyError, TypeError) as exc:
            if response.status_code in (429, 502, 503, 504):
                raise SmsRetry(f"HTTP {response.status_code}") from exc
            raise SmsUncertain(f"HTTP {response.status_code}: unreadable answer") from exc
        if "Error" in answer:
            code, message = str(answer["Error"].get("Code")), str(answer["Error"].get("Message"))
            if code.startswith(_RETRY_PREFIXES):
                raise SmsRetry(f"{code}: {message}"[:300])
            # A refused call (bad signature, unapproved template): nothing sent, for every number.
            return [SmsOutcome(p, "permanent", code=code[:64], message=message[:200])
                    for p in batch.phones]  # fmt: skip
        by_phone = {str(item.get("PhoneNumber", "")).removeprefix("+86"): item
                    for item in answer.get("SendStatusSet", [])}  # fmt: skip
        outcomes = []
        for phone in batch.phones:
            item = by_phone.get(phone)
            if item is None:  # not answered for: it may or may not have gone out
                raise SmsUncertain(f"no status for {phone}")
            code = str(item.get("Code"))
            if code == "Ok":
                outcomes.append(SmsOutcome(phone, "sent", provider_ref=item.get("SerialNo")))
            else:
                transient = code.startswith(_NUMBER_RETRY_PREFIXES)
                message = str(item.get("Message", ""))[:200]
                outcomes.append(SmsOutcome(phone, "transient" if transient else "permanent",
                                           code=code[:64], message=message))  # fmt: skip
        return outcomes


def tencent_reports(body: Any) -> list[DeliveryReport]:
    """The delivery reports of a status callback (a JSON array)."""
    if not isinstance(body, list):
        raise ValueError("a status callback is a JSON array")
    reports = []
    for item in body:
        at = None
        if isinstance(item.get("user_receive_time"), str):
            try:  # Beijing time, as the provider writes it
                at = datetime.fromisoformat(item["user_receive_time"] + "+08:00")
            except ValueError:
                at = None
        reports.append(DeliveryReport(
            phone=str(item["mobile"]), delivered=item.get("report_status") == "SUCCESS",
            code=str(item.get("errmsg", ""))[:64], provider_ref=item.get("sid"),
            out_id=item.get("ext") or None, at=at,
        ))  # fmt: skip
    return reports
