import pytest
from core.money import Money


@pytest.mark.parametrize(
    ("text", "cents"),
    [("0", 0), ("1", 100), ("1.5", 150), ("1.05", 105), ("-2.10", -210), ("1000.99", 100099)],
)
def test_parse(text, cents):
    assert Money.parse(text).cents == cents


@pytest.mark.parametrize("text", ["", "abc", "1.234", "1.x", "--1"])
def test_parse_rejects(text):
    with pytest.raises(ValueError, match=r"not an amount|more than two decimals"):
        Money.parse(text)


def test_add_and_subtract():
    assert Money(150) + Money(250) == Money(400)
    assert Money(150) - Money(250) == Money(-100)


def test_currencies_do_not_mix():
    with pytest.raises(ValueError, match="cannot mix"):
        Money(1, "EUR") + Money(1, "USD")


@pytest.mark.parametrize(
    ("cents", "rate", "expected"), [(1000, 10, 100), (999, 10, 100), (5, 10, 1)]
)
def test_percent_rounds_half_up(cents, rate, expected):
    assert Money(cents).percent(rate).cents == expected


@pytest.mark.parametrize(("cents", "text"), [(0, "0.00 EUR"), (105, "1.05 EUR"), (-5, "-0.05 EUR")])
def test_str(cents, text):
    assert str(Money(cents)) == text
