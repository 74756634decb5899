"""Synthetic unified social credit codes for the demo's fictional enterprises."""

from __future__ import annotations

from taihu.enterprises import credit_code_check_char, organisation_code_check_char

__all__ = ["demo_credit_code"]

# Wujiang District, Suzhou: the division code of the registering authority in demo codes.
_DIVISION = "320509"
_SERIES = "DEFGHJKLMNPQRTUWXY"


def demo_credit_code(index: int) -> str:
    """A synthetic but valid code (GB 32100 and GB 11714) for the demo enterprise ``index``."""
    # Ten thousand codes per series letter (D first, so the demo's codes never change); the
    # letters skip I, O, S, V and Z, which credit codes do not use.
    body = f"MA0{_SERIES[index // 10_000]}{index % 10_000:04d}"
    first17 = f"91{_DIVISION}{body}{organisation_code_check_char(body)}"
    return first17 + credit_code_check_char(first17)
