"""A local stand-in for the Alibaba and Tencent SMS APIs: checks signatures, answers in kind.

It listens on a real socket (port 0) in a thread, recomputes each request's signature from the
documented algorithm (written here again, apart from the adapters, so a wrong adapter fails),
refuses replayed nonces and stale timestamps, and logs every number it accepted. Knobs: throttle
the next calls, numbers it rejects, and a call to hold (after logging it, before answering) so a
test can kill the client in the window between the provider taking a batch and its answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote

KEY_ID, SECRET = "LTAI5tStandIn", "stand-in-secret"


def _pct(text: str) -> str:
    return quote(text, safe="~-._")


class StandIn:
    """One provider's stand-in (``aliyun`` or ``tencent``)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.log: list[dict[str, str]] = []  # accepted numbers, in order
        self.calls = 0
        self.refused_signatures = 0
        self.throttle = 0  # the next n calls are throttled
        self.bad_numbers: set[str] = set()
        self.hold_call: int | None = None  # 1-based call number to hold before answering
        self.holding = threading.Event()
        self.release = threading.Event()
        self._nonces: set[str] = set()
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, answer = standin.handle(dict(self.headers.items()), body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json;charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client is gone (killed): the provider has sent anyway

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def phones(self) -> list[str]:
        """The numbers accepted, in order (with repeats, if any)."""
        return [entry["phone"] for entry in self.log]

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """One API call."""
        with self._lock:
            self.calls += 1
            call = self.calls
        if self.provider == "aliyun":
            return self._aliyun(call, body)
        return self._tencent(call, {k.lower(): v for k, v in headers.items()}, body)

    def _fresh(self, nonce: str, timestamp: float) -> bool:
        with self._lock:
            if nonce in self._nonces or abs(time.time() - timestamp) > 900:
                return False
            self._nonces.add(nonce)
            return True

    def _accept(self, call: int, phones: list[str], out_id: str, template: str,
                params: Any, *, one_ref: bool = False) -> list[str]:  # fmt: skip
        refs, shared = [], f"{uuid.uuid4().int % 10**18}^0"
        with self._lock:
            for phone in phones:
                ref = shared if one_ref else f"{uuid.uuid4().int % 10**18}"
                refs.append(ref)
                text = json.dumps(params, ensure_ascii=False)
                self.log.append({"phone": phone, "out_id": out_id, "ref": ref,
                                 "template": template, "params": text})  # fmt: skip
        if self.hold_call == call:
            self.holding.set()
            self.release.wait(120)
        return refs

    def _throttled(self) -> bool:
        with self._lock:
            if self.throttle > 0:
                self.throttle -= 1
                return True
            return False

    # --- Alibaba Cloud: form-encoded RPC, HMAC-SHA1 over the canonicalized query -------------

    def _aliyun(self, call: int, body: bytes) -> tuple[int, Any]:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        given = params.pop("Signature", "")
        query = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
        string = "POST&%2F&" + _pct(query)
        mac = hmac.new((SECRET + "&").encode(), string.encode(), hashlib.sha1).digest()
        stamp = datetime.strptime(params.get("Timestamp", "") + "+0000", "%Y-%m-%dT%H:%M:%SZ%z")
        request_id = str(uuid.uuid4()).upper()
        if (
            params.get("AccessKeyId") != KEY_ID
            or not hmac.compare_digest(base64.b64encode(mac).decode(), given)
            or not self._fresh(params.get("SignatureNonce", ""), stamp.timestamp())
        ):  # fmt: skip
            self.refused_signatures += 1
            return 400, {
                "Code": "SignatureDoesNotMatch",
                "RequestId": request_id,
                "Message": "Specified signature is not matched.",
            }
        if self._throttled():
            return 400, {"Code": "Throttling.User", "RequestId": request_id,
                         "Message": "Request was denied due to user flow control."}  # fmt: skip
        phones = params["PhoneNumbers"].split(",")
        if self.bad_numbers & set(phones):
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号",
                         "RequestId": request_id}  # fmt: skip
        template_params = json.loads(params["TemplateParam"])
        refs = self._accept(call, phones, params.get("OutId", ""), params["TemplateCode"],
                            template_params, one_ref=True)  # fmt: skip
        return 200, {"Code": "OK", "Message": "OK", "BizId": refs[0], "RequestId": request_id}

    # --- Tencent Cloud: JSON, TC3-HMAC-SHA256 -----------------------------------------------

    def _tc3(self, headers: dict[str, str], body: bytes) -> bool:
        try:
            auth = headers["authorization"]
            credential = auth.split("Credential=")[1].split(",")[0]
            key_id, date, service, _ = credential.split("/")
            given = auth.split("Signature=")[1].strip()
            timestamp = int(headers["x-tc-timestamp"])
        except (KeyError, IndexError, ValueError):
            return False
        canonical = (f"POST\n/\n\ncontent-type:{headers.get('content-type', '')}\n"
                     f"host:{headers.get('host', '')}\n\ncontent-type;host\n"
                     f"{hashlib.sha256(body).hexdigest()}")  # fmt: skip
        scope = f"{date}/{service}/tc3_request"
        string = (f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n"
                  f"{hashlib.sha256(canonical.encode()).hexdigest()}")  # fmt: skip
        key = ("TC3" + SECRET).encode()
        for part in (date, service, "tc3_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        mac = hmac.new(key, string.encode(), hashlib.sha256).hexdigest()
        same_day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") == date
        return (key_id == KEY_ID and service == "sms" and same_day
                and hmac.compare_digest(mac, given)
                and self._fresh(given, timestamp))  # fmt: skip

    def _tencent(self, call: int, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        request_id = str(uuid.uuid4())
        if headers.get("x-tc-action") != "SendSms" or not self._tc3(headers, body):
            self.refused_signatures += 1
            error = {"Code": "AuthFailure.SignatureFailure", "Message": "signature refused"}
            return 200, {"Response": {"Error": error, "RequestId": request_id}}
        if self._throttled():
            error = {"Code": "RequestLimitExceeded", "Message": "request times equals limit"}
            return 200, {"Response": {"Error": error, "RequestId": request_id}}
        request = json.loads(body)
        phones = [p.removeprefix("+86") for p in request["PhoneNumberSet"]]
        good = [p for p in phones if p not in self.bad_numbers]
        refs = dict(zip(good, self._accept(call, good, request.get("SessionContext", ""),
                                           request["TemplateId"], request["TemplateParamSet"]),
                        strict=True))  # fmt: skip
        statuses = [
            {"SerialNo": f"5000:{refs[p]}", "PhoneNumber": f"+86{p}", "Fee": 1,
             "SessionContext": request.get("SessionContext", ""), "Code": "Ok",
             "Message": "send success", "IsoCode": "CN"} if p in refs else
            {"SerialNo": "", "PhoneNumber": f"+86{p}", "Fee": 0, "SessionContext": "",
             "Code": "InvalidParameterValue.IncorrectPhoneNumber",
             "Message": "incorrect number format", "IsoCode": "CN"}
            for p in phones
        ]  # fmt: skip
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}

    def reports(self) -> list[dict[str, Any]]:
        """Delivery reports for everything accepted, in the provider's push shape."""
        at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if self.provider == "aliyun":
            return [{"phone_number": e["phone"], "send_time": at, "report_time": at,
                     "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功",
                     "sms_size": "1", "biz_id": e["ref"], "out_id": e["out_id"]}
                    for e in self.log]  # fmt: skip
        return [{"user_receive_time": at, "nationcode": "86", "mobile": e["phone"],
                 "report_status": "SUCCESS", "errmsg": "DELIVRD",
                 "description": "用户短信送达成功", "sid": f"5000:{e['ref']}"}
                for e in self.log]  # fmt: skip
