"""A tiny HTTP-style API over the shop: routing, validation, JSON bodies."""
