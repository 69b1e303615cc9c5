import pytest
from core.inventory import Inventory
from tools.stock_import import format_table, import_stock


def test_import_good_rows():
    inventory = Inventory()
    result = import_stock("sku,quantity\napple,3\npear,2\n", inventory)
    assert (result.imported, result.errors) == (2, [])
    assert inventory.available("apple") == 3


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (",3", "line 2: empty sku"),
        ("apple,x", "line 2: bad quantity 'x'"),
        ("apple,0", "line 2: bad quantity '0'"),
    ],
)
def test_import_reports_bad_rows(row, error):
    result = import_stock(f"sku,quantity\n{row}\n", Inventory())
    assert result.errors == [error]


def test_import_needs_header():
    assert import_stock("name,count\n", Inventory()).errors == ["header must name sku and quantity"]


def test_format_table():
    assert format_table([("apple", 3), ("kiwi", 12)]) == "apple       3\nkiwi       12"


def test_format_empty_table():
    assert format_table([]) == "(empty)"
