"""Resolution: the per-process cached resolver, the prefixes served here, referrals across nodes.

``resolver`` (the cache in front of the handles table), ``answers`` (its entries and rendered
forms), ``following`` (the change log followed, to keep the cache fresh), ``changes`` (the log
pushed by PostgreSQL LISTEN/NOTIFY), ``queries`` (the hot-path SQL), ``process`` (the process's
one resolver), ``locator`` (which prefixes this node answers for), ``referrals`` (RC 301/302 and
the recursive resolver).
"""

from taihu.identifiers.resolution.locator import LocalPrefixes, PrefixLocator
from taihu.identifiers.resolution.process import open_resolver, resolver_in, resolver_of
from taihu.identifiers.resolution.referrals import (
    SITE_TYPE,
    RecursiveResolver,
    ResolutionFailed,
    WireTransport,
    node_locator,
    parse_hostport,
)
from taihu.identifiers.resolution.resolver import (
    FLUSH_INTERVAL,
    REGISTRATIONS,
    PublicAnswer,
    Resolver,
    WireAnswer,
)

__all__ = [
    "FLUSH_INTERVAL",
    "REGISTRATIONS",
    "SITE_TYPE",
    "LocalPrefixes",
    "PrefixLocator",
    "PublicAnswer",
    "RecursiveResolver",
    "ResolutionFailed",
    "Resolver",
    "WireAnswer",
    "WireTransport",
    "node_locator",
    "open_resolver",
    "parse_hostport",
    "resolver_in",
    "resolver_of",
]
