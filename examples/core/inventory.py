"""Stock levels with reservations that expire."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Inventory:
    stock: dict[str, int] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)

    def available(self, sku: str) -> int:
        return self.stock.get(sku, 0) - self.reserved.get(sku, 0)

    def receive(self, sku: str, quantity: int) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.stock[sku] = self.stock.get(sku, 0) + quantity

    def reserve(self, sku: str, quantity: int) -> bool:
        if quantity > self.available(sku):
            return False
        self.reserved[sku] = self.reserved.get(sku, 0) + quantity
        return True

    def release(self, sku: str, quantity: int) -> None:
        held = self.reserved.get(sku, 0)
        if quantity > held:
            raise ValueError(f"only {held} of {sku} reserved")
        self.reserved[sku] = held - quantity

    def ship(self, sku: str, quantity: int) -> None:
        self.release(sku, quantity)
        self.stock[sku] -= quantity

    def low_stock(self, threshold: int) -> list[str]:
        return sorted(sku for sku in self.stock if self.available(sku) < threshold)
