"""Operator tools: CSV import of stock and a report table."""
