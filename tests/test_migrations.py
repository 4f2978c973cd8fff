"""The Alembic migrations build exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import downgrade, upgrade
from storage.models import Base
from tests.conftest import scratch_postgres_database


def schema_differences(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    return diff


def round_trip(url: str) -> None:
    upgrade(url)
    assert schema_differences(url) == []
    downgrade(url, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    assert schema_differences(url) == []


def test_migrations_match_the_models_and_round_trip(tmp_path):
    url = os.environ.get("CAREBOT_DATABASE_URL")
    if url:
        with scratch_postgres_database(url) as scratch:
            round_trip(scratch)
    else:
        round_trip(f"sqlite:///{tmp_path / 'migrations.db'}")
