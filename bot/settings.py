"""Process settings: the only module that reads the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite:///carebot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    default_team: str = "default"
    slack_timeout: int = 10  # seconds per Slack Web API attempt (CAREBOT_SLACK_TIMEOUT)
    slack_retries: int = 2  # retries per call after 429 / 5xx / a connection error (CAREBOT_SLACK_RETRIES)
    secret_key: str | None = None  # CAREBOT_SECRET_KEY: seals customer personal data (storage/crypto.py)
    old_secret_keys: tuple[str, ...] = ()  # CAREBOT_SECRET_KEY_OLD: earlier keys, while `carebot keys rotate` runs
    # CAREBOT_WORKERS: processes `carebot serve` builds after-ack pages in (bot/offload.py); 0: none. By default
    # one core fewer than the machine has (at least 1): one core stays free for the process that acks
    workers: int = field(default_factory=lambda: default_workers())

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("CAREBOT_DATABASE_URL") or DEFAULT_DATABASE_URL,
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_api_url=env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
            default_team=_team_id(env.get("CAREBOT_TEAM")),
            slack_timeout=int(env.get("CAREBOT_SLACK_TIMEOUT") or 10),
            slack_retries=int(env.get("CAREBOT_SLACK_RETRIES") or 2),
            secret_key=env.get("CAREBOT_SECRET_KEY") or None,
            old_secret_keys=tuple(k for k in (env.get("CAREBOT_SECRET_KEY_OLD") or "").split(",") if k.strip()),
            workers=_count(env.get("CAREBOT_WORKERS"), default_workers()),
        )


TEAM_ID = re.compile(r"[\w.-]{1,64}")  # a team's id: letters (any script), digits, - _ . ; the column holds 64


def not_a_team_id(team_id: str) -> bool:
    """True when `team_id` cannot be a team's id (TEAM_ID): empty, spaces, control or markup characters, too long."""
    return TEAM_ID.fullmatch(team_id) is None


def _team_id(text: str | None) -> str:
    """CAREBOT_TEAM, else "default"; SystemExit saying what a team id is when it cannot be one (it was stored as
    typed: ' default' was a second team, and 65 characters a traceback on PostgreSQL)."""
    if text is None or not text.strip():
        return "default"
    if not_a_team_id(text):
        raise SystemExit(f"CAREBOT_TEAM must be 1-64 letters, digits, '-', '_' or '.' (no spaces), not {text!r}.")
    return text


def default_workers() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


def _count(text: str | None, default: int) -> int:
    """A small non-negative whole number from the environment; SystemExit saying which value is wrong."""
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 32:
        raise SystemExit(f"CAREBOT_WORKERS must be a whole number from 0 to 32, not {text!r}.")
    return value


# the pip package of a database driver SQLAlchemy names by its module (what `import` failed on)
_DRIVER_PACKAGES = {"MySQLdb": "mysqlclient", "pymysql": "PyMySQL", "mysql": "mysql-connector-python",
                    "mariadb": "mariadb", "psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary]",
                    "pg8000": "pg8000", "pyodbc": "pyodbc", "pymssql": "pymssql", "oracledb": "oracledb",
                    "cx_Oracle": "cx_Oracle"}
_TESTED_ON = "Carebot is tested on SQLite and PostgreSQL (sqlite:///carebot.db, postgresql://USER@HOST/DB)"


def database_url_problem(url: str) -> str | None:
    """None when SQLAlchemy can make an engine of `url` here (its dialect known, its driver importable, a
    synchronous one); else one line saying why not, the URL shown without its password. Nothing is connected
    to: whether the database answers is another question (storage/db.Database.check)."""
    import re

    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from storage.db import normalise_url

    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        shown = re.sub(r"(?<=:)[^:@/]*(?=@)", "***", url)  # user:password@ → user:***@
        return f"{shown!r} is not a database URL; {_TESTED_ON}"
    shown = parsed.render_as_string(hide_password=True)
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"{shown} names a database SQLAlchemy does not know ({parsed.drivername}); {_TESTED_ON}"
    if getattr(dialect, "is_async", False):
        return f"{shown} names an asyncio driver ({parsed.drivername}), which Carebot cannot use; {_TESTED_ON}"
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return (f"{shown} is an in-memory SQLite database, gone when the command ends (and each process has its "
                "own): name a file, e.g. sqlite:///carebot.db")
    try:
        dialect.import_dbapi()
    except ImportError as missing:
        module = (missing.name or "").split(".")[0]
        package = _DRIVER_PACKAGES.get(module, module)
        install = (f"pip install {package!r}" if "[" in package else f"pip install {package}") if package \
            else str(missing)
        return f"{shown} needs a driver that is not installed ({install}); {_TESTED_ON}"
    return None
