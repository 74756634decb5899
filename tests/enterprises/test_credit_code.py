import pytest

from taihu.core import InvalidInput
from taihu.enterprises import CreditCode, credit_code_check_char
from tests.conftest import CODE_A, CODE_B

# The example code printed in GB 32100-2015 explanatory material, checked independently.
PUBLISHED_EXAMPLE = "91350100M000100Y43"


def test_published_example_is_valid() -> None:
    assert CreditCode(PUBLISHED_EXAMPLE).value == PUBLISHED_EXAMPLE
    assert credit_code_check_char(PUBLISHED_EXAMPLE[:17]) == "3"


def test_check_character_matches_the_standard_formula() -> None:
    # Written out from the standard rather than calling the code under test.
    values = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [pow(3, i, 31) for i in range(17)]
    total = sum(values.index(ch) * w for ch, w in zip(CODE_B[:17], weights, strict=True))
    assert values[(31 - total % 31) % 31] == CODE_B[17]


@pytest.mark.parametrize("code", [CODE_A, CODE_B, PUBLISHED_EXAMPLE.lower(), f"  {CODE_A} "])
def test_valid_codes_are_normalised(code: str) -> None:
    assert CreditCode(code).value == code.strip().upper()


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("9135010", "has 7"),
        (PUBLISHED_EXAMPLE + "0", "has 19"),
        ("91350100M000100Y4I", "not allowed"),
        ("91350100M000100O43", "not allowed"),
        ("91350100M000100Y44", "should be '3', not '4'"),
        ("", "has 0"),
    ],
)
def test_bad_codes_say_why(code: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment) as info:
        CreditCode(code)
    assert info.value.code == "bad_credit_code"


def test_every_single_character_typo_is_caught() -> None:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for position in range(17):
        for ch in alphabet:
            if ch == PUBLISHED_EXAMPLE[position]:
                continue
            typo = PUBLISHED_EXAMPLE[:position] + ch + PUBLISHED_EXAMPLE[position + 1 :]
            with pytest.raises(InvalidInput):
                CreditCode(typo)
