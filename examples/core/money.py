"""Money as integer cents, so sums never drift."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Money:
    cents: int
    currency: str = "EUR"

    @classmethod
    def parse(cls, text: str, currency: str = "EUR") -> Money:
        whole, _, fraction = text.strip().partition(".")
        digits = whole[1:] if whole.startswith("-") else whole
        if not digits.isdigit() or (fraction and not fraction.isdigit()):
            raise ValueError(f"not an amount: {text!r}")
        if len(fraction) > 2:
            raise ValueError(f"more than two decimals: {text!r}")
        sign = -1 if whole.startswith("-") else 1
        cents = abs(int(whole)) * 100 + int((fraction or "0").ljust(2, "0"))
        return cls(sign * cents, currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.cents + other.cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.cents - other.cents, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.cents * quantity, self.currency)

    def percent(self, rate: int) -> Money:
        """``rate`` percent of this amount, rounded half up to the cent."""
        return Money((self.cents * rate + 50) // 100, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __str__(self) -> str:
        sign = "-" if self.cents < 0 else ""
        return f"{sign}{abs(self.cents) // 100}.{abs(self.cents) % 100:02d} {self.currency}"
