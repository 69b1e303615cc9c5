import pytest
from core.money import Money
from core.orders import Line, Order


def order_with(*quantities: int) -> Order:
    order = Order("o-1")
    for number, quantity in enumerate(quantities):
        order.add(Line(f"sku-{number}", Money(250), quantity))
    return order


def test_subtotal():
    assert order_with(1, 2).subtotal == Money(750)


def test_discount():
    order = order_with(4)
    order.discount_percent = 10
    assert order.total == Money(900)


@pytest.mark.parametrize("quantity", [0, -1])
def test_line_quantity_must_be_positive(quantity):
    with pytest.raises(ValueError, match="quantity must be positive"):
        Line("x", Money(1), quantity)


@pytest.mark.parametrize(
    "path",
    [
        ("placed",),
        ("placed", "paid"),
        ("placed", "paid", "shipped", "delivered"),
        ("cancelled",),
        ("placed", "paid", "refunded"),
    ],
)
def test_allowed_transitions(path):
    order = order_with(1)
    for state in path:
        order.move_to(state)
    assert order.state == path[-1]


@pytest.mark.parametrize(("start", "target"), [("draft", "paid"), ("draft", "shipped")])
def test_forbidden_transitions(start, target):
    order = order_with(1)
    with pytest.raises(ValueError, match="not allowed"):
        order.move_to(target)


def test_empty_order_cannot_be_placed():
    with pytest.raises(ValueError, match="empty"):
        Order("o-2").move_to("placed")


def test_placed_order_is_frozen():
    order = order_with(1)
    order.move_to("placed")
    with pytest.raises(ValueError, match="cannot change"):
        order.add(Line("late", Money(1), 1))
