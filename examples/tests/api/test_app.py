import pytest


def test_unknown_route(app):
    status, body = app.handle("DELETE", "/orders", {})
    assert (status, body) == (404, {"error": "no route DELETE /orders"})


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"lines": []}, "id: missing"),
        ({"id": 1, "lines": []}, "id: expected str"),
        ({"id": "a", "lines": [], "extra": 1}, "extra: unknown field"),
    ],
)
def test_create_order_validation(app, body, problem):
    status, response = app.handle("POST", "/orders", body)
    assert status == 422
    assert problem in response["errors"]


def test_create_and_get_order(app):
    lines = [{"sku": "apple", "price": "0.50", "quantity": 3}]
    assert app.handle("POST", "/orders", {"id": "o1", "lines": lines}) == (
        201,
        {"id": "o1", "total": "1.50 EUR"},
    )
    status, body = app.handle("GET", "/orders", {"id": "o1"})
    assert (status, body["state"]) == (200, "draft")


def test_duplicate_order(app):
    app.handle("POST", "/orders", {"id": "o1", "lines": []})
    status, _ = app.handle("POST", "/orders", {"id": "o1", "lines": []})
    assert status == 409


def test_place_order_reserves_stock(app):
    app.handle(
        "POST", "/orders", {"id": "o1", "lines": [{"sku": "apple", "price": "1", "quantity": 4}]}
    )
    assert app.handle("POST", "/orders/place", {"id": "o1"})[0] == 200
    assert app.inventory.available("apple") == 6


def test_place_order_rolls_back_on_shortage(app):
    app.handle(
        "POST",
        "/orders",
        {
            "id": "o1",
            "lines": [
                {"sku": "apple", "price": "1", "quantity": 4},
                {"sku": "pear", "price": "1", "quantity": 3},
            ],
        },
    )
    status, body = app.handle("POST", "/orders/place", {"id": "o1"})
    assert (status, body["error"]) == (409, "not enough pear")
    assert app.inventory.available("apple") == 10


def test_missing_order(app):
    assert app.handle("GET", "/orders", {"id": "nope"})[0] == 409


@pytest.mark.parametrize("quantity", [1, 5, 100])
def test_receive_stock(app, quantity):
    status, body = app.handle("POST", "/stock", {"sku": "plum", "quantity": quantity})
    assert (status, body) == (200, {"available": quantity})
