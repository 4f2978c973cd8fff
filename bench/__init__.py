"""Carebot's benchmark: a seeded book of a real team and every measure of issue 14 against its baseline.

    python -m bench [--small | --tiny] [--database-url URL] [--json PATH] [--only NAME ...]

See bench/run.py for the measures and README.md (Speed) for the latest table.
"""
