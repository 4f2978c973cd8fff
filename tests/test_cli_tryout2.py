"""The second tryout of the command line: what it refused with a traceback (an unknown setting, days past year
9999 or before year 1, ids past the database's integers) and what it accepted without a word (`--given
--withdrawn`, the last one winning; a mistyped `--team` made into a team by a dry run; the audit of a complaint
that does not exist). `carebot` runs as a process against the suite's database (SQLite, or PostgreSQL when
CAREBOT_DATABASE_URL names it); no test reads the day it runs on."""

from __future__ import annotations

import string

import pytest
from messages.render import LOCALES, catalog
from tests.test_cli_tryout import carebot, lines

SPAN = "from 1970-01-01 to 2999-12-31"


def refused(done, said: str) -> str:
    """The one `Error:` line click ends a refusal with (exit 2: how the command was said), no traceback."""
    err = done.stderr.decode()
    assert done.returncode == 2, (done.returncode, err)
    assert "Traceback" not in err and done.stdout == b""
    errors = [line for line in lines(done.stderr) if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0] == lines(done.stderr)[-1] and said in errors[0], err
    return errors[0]


# --- tracebacks ---------------------------------------------------------------------------------------------


def test_an_unknown_setting_is_one_line_naming_the_settings(tmp_path):
    done = carebot("config", "set", "nope", "1", cwd=tmp_path)
    assert done.returncode == 1
    assert lines(done.stderr) == ["Error: `nope` is not a setting. Settings: digest_channel, supervisor_channel, "
                                  "supervisor_group, timezone, digest_time, plan_time, locale, name."]


@pytest.mark.parametrize("locale", LOCALES)
def test_no_text_takes_a_parameter_named_like_what_carries_it(locale):
    """CareError(key, **params) and translate(locale, key, **params): a text with `{key}` or `{locale}` could
    never be said (the unknown setting's line was one: a TypeError instead of the line)."""
    clashing = {key: name for key, text in catalog(locale).items()
                for _, name, _, _ in string.Formatter().parse(text) if name in ("key", "locale")}
    assert clashing == {}
