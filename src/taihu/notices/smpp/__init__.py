"""SMS over SMPP 3.4: ``link`` speaks the protocol (smpplib), ``gateway`` is the SMS adapter."""

from taihu.notices.smpp.gateway import ReportSink, SmppSms, render_template
from taihu.notices.smpp.link import (
    Receipt,
    SmppBindError,
    SmppError,
    SmppLink,
    SubmitResult,
    encode_text,
    parse_receipt,
)

__all__ = [
    "Receipt",
    "ReportSink",
    "SmppBindError",
    "SmppError",
    "SmppLink",
    "SmppSms",
    "SubmitResult",
    "encode_text",
    "parse_receipt",
    "render_template",
]
