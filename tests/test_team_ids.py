"""A team's id is an identifier the team table and every command can hold (final tryout): 1–64 letters (any
script), digits, `-`, `_` or `.`. `carebot staff add … --team` with anything else — a leading space that made a
second team " default", `<!channel>`, a control character, 65 characters (a traceback on PostgreSQL) — and a
CAREBOT_TEAM like it are refused in one line, and no team is made."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Team
from tests.test_cli_tryout import carebot, lines


def _teams(url: str) -> list[str]:
    from storage.db import Database

    db = Database(url)
    try:
        with db.unit_of_work() as session:
            return sorted(session.scalars(select(Team.id)))
    finally:
        db.dispose()


@pytest.mark.parametrize("team", [" default", "<!channel>", "a\x07b", "x" * 65, "team one", ""])
def test_staff_add_refuses_a_team_id_no_team_can_have(tmp_path, db, team):
    before = _teams(db.url)
    done = carebot("staff", "add", "U0NEW", "--role", "admin", "--team", team, cwd=tmp_path, url=db.url)
    if team == "":  # an empty --team is no team named: the default one, as without the option
        assert done.returncode == 0, done.stderr
        return
    assert done.returncode == 1 and len(lines(done.stderr)) == 1, done.stderr
    assert "1–64 letters" in done.stderr.decode() and b"Traceback" not in done.stderr
    assert _teams(db.url) == before


def test_a_team_id_in_any_script_is_a_team(tmp_path, db):
    done = carebot("staff", "add", "U0NEW", "--role", "admin", "--team", "华东-客服_1.a", cwd=tmp_path, url=db.url)
    assert done.returncode == 0, done.stderr
    assert "华东-客服_1.a" in _teams(db.url)


@pytest.mark.parametrize("team", [" default", "x" * 65, "<!here>"])
def test_a_carebot_team_no_team_can_have_is_one_line(tmp_path, db, team):
    done = carebot("staff", "list", cwd=tmp_path, url=db.url, env={"CAREBOT_TEAM": team})
    assert done.returncode != 0 and b"Traceback" not in done.stderr, done.stderr
    assert "CAREBOT_TEAM must be 1-64 letters" in done.stderr.decode()
