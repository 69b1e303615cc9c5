"""Routes of the shop API; each handler takes a JSON body and returns (status, body)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.inventory import Inventory
from core.money import Money
from core.orders import Line, Order

from api.validation import ValidationError, require

Handler = Callable[["App", dict[str, Any]], tuple[int, dict[str, Any]]]


class App:
    def __init__(self) -> None:
        self.inventory = Inventory()
        self.orders: dict[str, Order] = {}
        self.routes: dict[tuple[str, str], Handler] = {
            ("POST", "/stock"): App.receive_stock,
            ("POST", "/orders"): App.create_order,
            ("POST", "/orders/place"): App.place_order,
            ("GET", "/orders"): App.get_order,
        }

    def handle(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        handler = self.routes.get((method, path))
        if handler is None:
            return 404, {"error": f"no route {method} {path}"}
        try:
            return handler(self, body)
        except ValidationError as exc:
            return 422, {"errors": exc.problems}
        except (KeyError, ValueError) as exc:
            return 409, {"error": str(exc)}

    def receive_stock(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        require(body, {"sku": str, "quantity": int})
        self.inventory.receive(body["sku"], body["quantity"])
        return 200, {"available": self.inventory.available(body["sku"])}

    def create_order(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        require(body, {"id": str, "lines": list})
        if body["id"] in self.orders:
            raise ValueError(f"order {body['id']} exists")
        order = Order(body["id"])
        for raw in body["lines"]:
            line = require(raw, {"sku": str, "price": str, "quantity": int})
            order.add(Line(line["sku"], Money.parse(line["price"]), line["quantity"]))
        self.orders[order.id] = order
        return 201, {"id": order.id, "total": str(order.total)}

    def place_order(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        require(body, {"id": str})
        order = self.orders[body["id"]]
        reserved = []
        for line in order.lines:
            if not self.inventory.reserve(line.sku, line.quantity):
                for sku, quantity in reserved:
                    self.inventory.release(sku, quantity)
                return 409, {"error": f"not enough {line.sku}"}
            reserved.append((line.sku, line.quantity))
        order.move_to("placed")
        return 200, {"id": order.id, "state": order.state}

    def get_order(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        require(body, {"id": str})
        order = self.orders[body["id"]]
        return 200, {"id": order.id, "state": order.state, "total": str(order.total)}
