"""LanceDB fixtures: an isolated, embedded LanceDB database per test, safe under pytest-xdist.

The pytest entry point is :mod:`pytest_atom_gates.lancedb.plugin`; lancedb itself is imported only
when a test first asks for a LanceDB fixture.
"""
