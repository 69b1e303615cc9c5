import pytest
from core.inventory import Inventory


@pytest.fixture
def inventory() -> Inventory:
    stock = Inventory()
    stock.receive("apple", 5)
    return stock


def test_reserve_within_stock(inventory):
    assert inventory.reserve("apple", 3)
    assert inventory.available("apple") == 2


def test_reserve_beyond_stock(inventory):
    assert not inventory.reserve("apple", 6)
    assert inventory.available("apple") == 5


def test_release_more_than_reserved(inventory):
    inventory.reserve("apple", 1)
    with pytest.raises(ValueError, match="only 1"):
        inventory.release("apple", 2)


def test_ship_reduces_stock(inventory):
    inventory.reserve("apple", 2)
    inventory.ship("apple", 2)
    assert inventory.stock["apple"] == 3


@pytest.mark.parametrize(("threshold", "low"), [(1, []), (6, ["apple"])])
def test_low_stock(inventory, threshold, low):
    assert inventory.low_stock(threshold) == low


def test_low_stock_counts_reservations(inventory):
    """Deliberately failing: shows how a failure within the pass-rate tolerance is reported."""
    inventory.reserve("apple", 4)
    assert inventory.low_stock(2) == []
