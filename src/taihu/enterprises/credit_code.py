"""The unified social credit code (统一社会信用代码) of GB 32100-2015 as a value object.

    position  1     registration authority (e.g. 9 = market regulation)
              2     organisation type
              3-8   administrative division code of the registering authority
              9-17  organisation code (GB 11714)
              18    check character over positions 1-17

Characters come from the 31-symbol set below (no I, O, Z, S, V). The check character is
``31 - (sum(value(c_i) * w_i) mod 31)`` with weights ``w_i = 3**(i-1) mod 31``, and 31 maps to 0.

Positions 9-17 are themselves an organisation code of GB 11714-1997 with its own check
character: ``11 - (sum(value(c_i) * w_i) mod 11)`` over the first eight characters, weights
``3 7 9 10 5 8 4 2``, digits worth their value and letters ``A``-``Z`` worth 10-35; 10 is
written ``X`` and 11 ``0``. A code passing the 18th-character check can still fail this one
(a code invented by hand, or two compensating typos), so both are checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from taihu.core import N_, InvalidInput

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "CreditCode",
    "credit_code_check_char",
    "organisation_code_check_char",
]

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(CREDIT_CODE_ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code_check_char(body: str) -> str:
    """The GB 11714-1997 check character for the eight-character body of an organisation code."""
    if len(body) != len(_ORG_WEIGHTS) or not all(ch.isdigit() or "A" <= ch <= "Z" for ch in body):
        raise ValueError(f"{body!r} is not eight digits or capital letters")
    total = sum(
        (int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10) * w
        for ch, w in zip(body, _ORG_WEIGHTS, strict=True)
    )
    remainder = 11 - total % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def credit_code_check_char(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    if len(first17) != LENGTH - 1 or any(ch not in _VALUE for ch in first17):
        raise ValueError(f"{first17!r} is not 17 characters of the credit code alphabet")
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


@dataclass(frozen=True, slots=True)
class CreditCode:
    """A valid unified social credit code; constructing one with a bad value raises."""

    value: str

    def __post_init__(self) -> None:
        raw = self.value
        code = raw.strip().upper()
        if len(code) != LENGTH:
            raise InvalidInput(
                N_("a unified social credit code has 18 characters; {raw!r} has {length}"),
                raw=raw,
                length=len(code),
                code="bad_credit_code",
            )
        bad = sorted({ch for ch in code if ch not in _VALUE})
        if bad:
            raise InvalidInput(
                N_(
                    "{raw!r} contains characters not allowed in a credit code: {characters} "
                    "(allowed: digits and A-Y except I, O, S, V, Z)"
                ),
                raw=raw,
                characters="".join(bad),
                code="bad_credit_code",
            )
        expected = credit_code_check_char(code[:17])
        if code[17] != expected:
            raise InvalidInput(
                N_(
                    "{raw!r} fails the GB 32100-2015 check: the 18th character should be "
                    "{expected!r}, not {found!r} (is a character mistyped?)"
                ),
                raw=raw,
                expected=expected,
                found=code[17],
                code="bad_credit_code",
            )
        org_expected = organisation_code_check_char(code[8:16])
        if code[16] != org_expected:
            raise InvalidInput(
                N_(
                    "{raw!r} fails the GB 11714 check of its organisation code (characters 9-17, "
                    "{organisation_code!r}): the 17th character should be {org_expected!r}, not "
                    "{found!r}"
                ),
                raw=raw,
                organisation_code=code[8:17],
                org_expected=org_expected,
                found=code[16],
                code="bad_credit_code",
            )
        object.__setattr__(self, "value", code)

    def __str__(self) -> str:
        return self.value
