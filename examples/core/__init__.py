"""Domain model of a small shop: money, products, orders and stock."""
