"""TQ-05 coverage: coverage.py over the whole run, combined across xdist workers.

``measure`` runs in every process and starts before the initial conftests are imported;
``engine`` says how each process's data travels (single process, xdist controller, xdist
worker); ``results`` turns the combined data into the figures ``gate`` judges; ``feature`` wires
it all into the run. Only ``measure`` is imported early, and coverage.py only when measuring.
"""
