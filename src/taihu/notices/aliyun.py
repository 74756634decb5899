"""Alibaba Cloud SMS (dysmsapi, version 2017-05-25): SendSms over the RPC-style API.

Each call is signed as the public "signature method" page describes: the parameters but
``Signature`` sorted by name, each name and value percent-encoded (RFC 3986, space ``%20``),
joined with ``&`` into the canonicalized query; the string to sign is
``POST&%2F&`` + percent-encoded canonicalized query; the signature is the Base64 of its
HMAC-SHA1 under ``AccessKeySecret + "&"``. One SendSms call carries up to 1000 numbers with
one template variable set, and ``OutId`` comes back in the delivery reports.

SendSms is not idempotent: ``OutId`` is only echoed, a repeated call sends again. The outbox
therefore never repeats a call whose outcome it does not know (see ``outbox.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from taihu.notices.sms import DeliveryReport, SmsBatch, SmsOutcome, SmsRetry, SmsUncertain
from taihu.settings import SmsSettings

__all__ = ["AliyunSms", "aliyun_reports", "aliyun_signature"]

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
# Codes that refuse the call as a whole and send nothing; worth another try later.
_RETRY = {"Throttling.User", "Throttling.Api", "isp.SYSTEM_ERROR", "isv.BUSINESS_LIMIT_CONTROL",
          "ServiceUnavailable", "InternalError",
          # A key or signature refused: nothing sent; a corrected setting sends them later.
          "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "SignatureNonceUsed"}  # fmt: skip
# Codes about one of the numbers: the call fails as a whole, so it is split per number.
_NUMBER = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT", "isv.DAY_LIMIT_CONTROL",
           "isv.MOBILE_COUNT_OVER_LIMIT"}  # fmt: skip


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """The ``Signature`` of a request's parameters."""
    query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_encode('/')}&{_encode(query)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSms:
    """SendSms on Alibaba Cloud (or an endpoint speaking its API)."""

    name = "aliyun"

    def __init__(self, settings: SmsSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.endpoint = settings.endpoint or ENDPOINT
        self.batch_size = min(settings.batch_size or 1000, 1000)
        self.client = client or httpx.AsyncClient(timeout=settings.timeout)

    def _params(self, batch: SmsBatch, phones: list[str]) -> dict[str, str]:
        s = self.settings
        params = {
            "AccessKeyId": s.access_key_id, "Action": "SendSms", "Format": "JSON",
            "RegionId": s.region or "cn-hangzhou", "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25", "PhoneNumbers": ",".join(phones), "SignName": s.sign_name,
            "TemplateCode": batch.template, "OutId": batch.out_id,
            "TemplateParam": json.dumps(batch.params, ensure_ascii=False, separators=(",", ":")),
        }  # fmt: skip
        params["Signature"] = aliyun_signature(params, s.access_key_secret.get_secret_value())
        return params

    async def _call(self, batch: SmsBatch, phones: list[str]) -> dict[str, Any]:
        try:
            response = await self.client.post(self.endpoint, data=self._params(batch, phones))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise SmsRetry(f"{type(exc).__name__}: {exc}"[:300]) from exc
        except httpx.HTTPError as exc:  # the request may have reached the provider
            raise SmsUncertain(f"{type(exc).__name__}: {exc}"[:300]) from exc
        try:
            answer = response.json()
            code = str(answer["Code"])
        except (ValueError, KeyError, TypeError) as exc:
            if response.status_code in (429, 502, 503, 504):
                raise SmsRetry(f"HTTP {response.status_code}") from exc
            raise SmsUncertain(f"HTTP {response.status_code}: unreadable answer") from exc
        if code in _RETRY or code.startswith("Throttling"):
            raise SmsRetry(f"{code}: {answer.get('Message', '')}"[:300])
        return dict(answer)

    async def send(self, batch: SmsBatch) -> list[SmsOutcome]:
        """Send the batch in one SendSms call; split per number if one number spoils it."""
        answer = await self._call(batch, batch.phones)
        code, message = str(answer["Code"]), str(answer.get("Message", ""))
        if code == "OK":
            return [SmsOutcome(p, "sent", provider_ref=str(answer.get("BizId", "")))
                    for p in batch.phones]  # fmt: skip
        if code in _NUMBER and len(batch.phones) > 1:
            # The call sent nothing; each number alone tells which one is at fault.
            outcomes = []
            for phone in batch.phones:
                outcomes.extend(await self._single(batch, phone))
            return outcomes
        return [SmsOutcome(p, "permanent", code=code, message=message[:200]) for p in batch.phones]

    async def _single(self, batch: SmsBatch, phone: str) -> list[SmsOutcome]:
        try:
            answer = await self._call(batch, [phone])
        except SmsRetry as exc:
            return [SmsOutcome(phone, "transient", message=str(exc)[:200])]
        code = str(answer["Code"])
        if code == "OK":
            return [SmsOutcome(phone, "sent", provider_ref=str(answer.get("BizId", "")))]
        return [SmsOutcome(phone, "permanent", code=code,
                           message=str(answer.get("Message", ""))[:200])]  # fmt: skip


def aliyun_reports(body: Any) -> list[DeliveryReport]:
    """The delivery reports of an SmsReport HTTP push (a JSON array)."""
    if not isinstance(body, list):
        raise ValueError("an SmsReport push is a JSON array")
    reports = []
    for item in body:
        at = None
        if isinstance(item.get("report_time"), str):
            try:  # Beijing time, as the provider writes it
                at = datetime.fromisoformat(item["report_time"] + "+08:00")
            except ValueError:
                at = None
        reports.append(DeliveryReport(
            phone=str(item["phone_number"]), delivered=bool(item.get("success")),
            code=str(item.get("err_code", ""))[:64], provider_ref=item.get("biz_id"),
            out_id=item.get("out_id"), at=at,
        ))  # fmt: skip
    return reports
