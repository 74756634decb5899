"""Words the services store as keys (statuses, kinds, bands, flags), shown in the reader's language.

A service keeps ``active``, ``production-machine`` or ``20M-100M`` as stable keys; the console
never prints a key as it is. ``term`` looks the key up here and translates its English label;
a key nobody named is shown as written (the crawler browser test then points at it).
"""

from __future__ import annotations

from markupsafe import Markup, escape

from taihu.core import N_, Message
from taihu.core.messages import render_text
from taihu.web.i18n import gettext_, render

__all__ = ["TERMS", "message_html", "term"]

TERMS: dict[str, str] = {
    # yes / no, however a cell or a JSON value spelled it
    "true": N_("Yes"),
    # The author and note of the built-in chain templates' first version (chains.template_store).
    "taihu (built-in)": N_("Taihu (built-in)"),
    "built-in starting set": N_("built-in starting set"),
    "false": N_("No"),
    # states of prefixes, applications, users, tokens, devices
    "active": N_("active"),
    "pending": N_("pending"),
    "approved": N_("approved"),
    "applied": N_("applied"),
    "activated": N_("activated"),
    "suggested": N_("suggested"),
    "confirmed": N_("confirmed"),
    "rejected": N_("rejected"),
    "revoked": N_("revoked"),
    "suspended": N_("suspended"),
    "disabled": N_("disabled"),
    "online": N_("online"),
    "offline": N_("offline"),
    "done": N_("done"),
    "refused": N_("refused"),
    "failed": N_("failed"),
    "sent": N_("sent"),
    # kinds
    "node": N_("node"),
    "enterprise": N_("enterprise"),
    "gateway": N_("gateway"),
    "device": N_("device"),
    "edge": N_("edge gateway"),
    "direct": N_("direct"),
    # what an audit entry is about (accounts' audit log, entity_type)
    "user": N_("user"),
    "token": N_("token"),
    "session": N_("session"),
    "profile": N_("device profile"),
    "device_profile": N_("device profile"),
    "prefix": N_("prefix"),
    "application": N_("application"),
    "template": N_("template"),
    "handle": N_("identifier"),
    "identifier": N_("identifier"),
    "case": N_("case"),
    "chain": N_("chain"),
    "chain_tag": N_("chain tag"),
    "key_list": N_("key-enterprise list"),
    "power_meters": N_("power meters"),
    "supply_edge": N_("supply link"),
    "route": N_("route"),
    "api_token": N_("API token"),
    "chain_template": N_("chain template"),
    "node_link": N_("node link"),
    "outside_supplier": N_("outside supplier"),
    "power_file": N_("power file"),
    "prefix_application": N_("prefix application"),
    "alarm": N_("alarm"),
    "alarm_rule": N_("alarm rule"),
    "notice": N_("notice"),
    "programme": N_("programme"),
    "programme_application": N_("programme application"),
    "programme_award": N_("award"),
    "survey": N_("survey"),
    "survey_app_user": N_("survey device user"),
    "survey_submission": N_("survey submission"),
    "survey_version": N_("survey version"),
    # scopes of device attributes
    "client": N_("client"),
    "shared": N_("shared"),
    "server": N_("server"),
    # device profiles of the demo and the edge gateway
    "production-machine": N_("production machine"),
    "power-meter": N_("power meter"),
    "edge-gateway": N_("edge gateway"),
    "default": N_("default"),
    # revenue bands (enterprises/profile.py RevenueBand)
    "<20M": N_("under ¥20 million"),
    "20M-100M": N_("¥20 to 100 million"),
    "100M-1B": N_("¥100 million to 1 billion"),
    "1B-10B": N_("¥1 to 10 billion"),
    ">=10B": N_("¥10 billion and more"),
    # chain suggestions (chains/analytics.py Suggestion.kind)
    "建链": N_("build the chain"),
    "补链": N_("fill the gap"),
    "强链": N_("strengthen the chain"),
    "延链": N_("extend the chain"),
}


def term(value: object) -> str:
    """A stored key in the current language (``True``/``"true"`` → Yes, ``active`` → 启用…)."""
    if isinstance(value, bool):
        return gettext_(TERMS["true" if value else "false"])
    if isinstance(value, Message):
        return render(value)
    if value is None:
        return ""
    text = str(value)
    label = TERMS.get(text) or TERMS.get(text.lower())
    return gettext_(label) if label else text


_DATA = Markup('<span translate="no">{}</span>')


def _datum_html(value: object, text: str) -> str:
    """A filled-in value as HTML: text values marked as data, anything else escaped."""
    return _DATA.format(text) if isinstance(value, str) else escape(text)


def message_html(value: object) -> Markup:
    """A ``Message`` as HTML in the current language, its text values marked as data.

    The values of a message (an enterprise's or a segment's name) are data in the language they
    were entered in, so they carry ``translate="no"``; numbers and the sentence are the reader's.
    A ``{name!r}`` field quotes the value's own text (the mark goes around the quoted text).
    """
    if not isinstance(value, Message):
        return escape(render(value))
    # Safe: the sentence is escaped by the translate callable and every value by _datum_html.
    text = render_text(value.id, value.params, lambda text: escape(gettext_(text)), _datum_html)
    return Markup(text)  # noqa: S704
