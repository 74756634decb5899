import pytest

from taihu.core import InvalidInput
from taihu.enterprises import CreditCode, credit_code_check_char, organisation_code_check_char
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


def test_organisation_code_check_follows_gb_11714() -> None:
    # The published example's organisation code M000100Y4, worked by hand:
    # M=22, Y=34; 22*3 + 1*5 + 34*2 = 139; 139 mod 11 = 7; 11 - 7 = 4.
    assert organisation_code_check_char("M000100Y") == "4"
    assert organisation_code_check_char("00000000") == "0"  # 11 - 0 = 11, written 0
    assert organisation_code_check_char("11000000") == "1"  # 1*3 + 1*7 = 10; 11 - 10 = 1
    assert organisation_code_check_char("40000000") == "X"  # 4*3 = 12 = 1 mod 11; 11 - 1 = 10


def test_a_code_valid_only_on_the_18th_character_is_refused() -> None:
    # Body MA0TXT00 needs organisation check '2'; with '1' and a recomputed 18th character
    # the GB 32100 check passes and only GB 11714 catches it.
    first17 = "91320509MA0TXT001"
    code = first17 + credit_code_check_char(first17)
    with pytest.raises(InvalidInput, match="GB 11714") as info:
        CreditCode(code)
    assert "should be '2', not '1'" in str(info.value)
