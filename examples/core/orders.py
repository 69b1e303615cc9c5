"""Orders: lines, totals, discounts and the states an order moves through."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.money import Money

TRANSITIONS = {
    "draft": {"placed", "cancelled"},
    "placed": {"paid", "cancelled"},
    "paid": {"shipped", "refunded"},
    "shipped": {"delivered"},
    "delivered": set(),
    "cancelled": set(),
    "refunded": set(),
}


@dataclass(frozen=True)
class Line:
    sku: str
    unit_price: Money
    quantity: int

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError("quantity must be positive")

    @property
    def total(self) -> Money:
        return self.unit_price.times(self.quantity)


@dataclass
class Order:
    id: str
    lines: list[Line] = field(default_factory=list)
    state: str = "draft"
    discount_percent: int = 0

    def add(self, line: Line) -> None:
        if self.state != "draft":
            raise ValueError(f"cannot change a {self.state} order")
        self.lines.append(line)

    @property
    def subtotal(self) -> Money:
        total = Money(0)
        for line in self.lines:
            total = total + line.total
        return total

    @property
    def total(self) -> Money:
        return self.subtotal - self.subtotal.percent(self.discount_percent)

    def move_to(self, state: str) -> None:
        if state not in TRANSITIONS[self.state]:
            raise ValueError(f"{self.state} -> {state} is not allowed")
        if state == "placed" and not self.lines:
            raise ValueError("an empty order cannot be placed")
        self.state = state
