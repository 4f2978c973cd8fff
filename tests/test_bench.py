"""The bench runs end to end on a tiny book (no timing is asserted: speed is the bench's business). The import
measure is left out here: it only calls `carebot import customers`, whose own tests are tests/test_*import*."""

from __future__ import annotations

import json
import os

import pytest

from bench.run import MEASURES, main


@pytest.mark.slow
def test_the_bench_measures_everything_on_a_tiny_book(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["--tiny", "--json", str(out), *(f"--only={name}" for name in MEASURES if name != "import")]
    if os.environ.get("CAREBOT_DATABASE_URL"):
        argv += ["--no-sqlite", "--database-url", os.environ["CAREBOT_DATABASE_URL"]]
    main(argv)
    report = json.loads(out.read_text(encoding="utf-8"))
    (run,) = report["runs"]
    names = {m["name"] for m in run["measures"]}
    assert names == {"morning_list", "sla_sweep_first", "sla_sweep", "due_ack_c1", "due_ack_c8", "log_call_c1",
                     "log_call_c8", "first_start_rss"}, names
    for measure in run["measures"]:
        assert measure["ours"] > 0 and measure["baseline"] > 0, measure
    assert run["measures"][-1]["detail"]["seconds"] is not None  # the first start finished its morning work
    printed = capsys.readouterr().out
    assert "| measure |" in printed and report["table"] in printed


def test_a_kept_book_starts_the_next_run_as_the_same_rows(tmp_path):
    """`--keep DIR`: the first run seeds and keeps a copy; the next one starts from it — the same rows, the same
    book — without seeding (on SQLite here, whatever database the suite runs on: a file copy is the whole test)."""
    from sqlalchemy import text

    from bench import kept
    from bench.book import SIZES, seed
    from storage.db import Database
    from storage.migrate import upgrade

    size, keep = SIZES["tiny"], tmp_path / "keep"
    first_url = f"sqlite:///{tmp_path / 'first.db'}"
    assert kept.restore(first_url, size, keep) is None  # nothing kept yet: the run seeds
    upgrade(first_url)
    first = Database(first_url)
    book = seed(first, size)
    first.dispose()
    kept.store(first_url, book, keep)

    second_url = f"sqlite:///{tmp_path / 'second.db'}"
    again = kept.restore(second_url, size, keep)
    upgrade(second_url)
    assert again == book
    counts = "SELECT (SELECT count(*) FROM customer), (SELECT count(*) FROM callback), (SELECT count(*) FROM call_log)"
    dbs = [Database(first_url), Database(second_url)]
    try:
        with dbs[0].engine.connect() as a, dbs[1].engine.connect() as b:
            assert a.execute(text(counts)).one() == b.execute(text(counts)).one() == \
                (size.customers, size.callbacks, size.call_logs)
    finally:
        for db in dbs:
            db.dispose()
