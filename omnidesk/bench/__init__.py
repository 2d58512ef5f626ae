"""Benchmarks run by ``omnidesk bench …``: a real server in a subprocess, a load generator here.

Each benchmark prints a JSON report; results are recorded in ``docs/benchmarks.md``.
"""
