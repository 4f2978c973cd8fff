"""When the database cannot be reached (PostgreSQL down, SQLite unreadable): every request is still answered at
once, in the person's language, and nothing is half-done (issue 8 §3).

The person's language comes from this process's memory of earlier requests, else Slack's users.info, else the
default (zh-CN). The answer says that nothing was saved and to try again in a few minutes:

- a slash command: the ephemeral reply of the HTTP answer;
- a modal submission: an inline error on the modal (it stays open with everything typed, to submit again);
- a button or shortcut: an ephemeral reply to its response_url, else a DM;
- an options request: no options; an event: nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from handlers.deps import tell_by_dm
from messages.render import pick_locale, translate

log = logging.getLogger(__name__)

KEY = "inbound.db_unavailable"
_MEMORY_SIZE = 10_000
_locales: dict[str, str] = {}
_lock = threading.Lock()


def is_database_down(error: BaseException) -> bool:
    """The database did not answer (connection refused or lost, locked past the wait, read-only)."""
    return isinstance(error, SQLAlchemyError) and not _is_integrity(error)


def _is_integrity(error: BaseException) -> bool:
    from sqlalchemy.exc import IntegrityError

    return isinstance(error, IntegrityError)


SAVE_WAIT = 1.5  # seconds a modal's save may wait for a lock before it is refused (the ack is due within 3 s)


def message_key(error: BaseException) -> str:
    """What to tell the person: busy (a lock held past the wait) or away (anything else)."""
    return "inbound.db_busy" if "locked" in str(error).lower() or "lock timeout" in str(error).lower() else KEY


def inline(locale: str, block: str, error: BaseException) -> dict[str, Any]:
    """`response_action: errors` kwargs for ack(): the modal stays open with what was typed."""
    log.warning("a modal could not be saved now: %s", str(error).splitlines()[0] if str(error) else error)
    return {"response_action": "errors", "errors": {block: str(translate(locale, message_key(error)))}}


def remember_locale(user_id: str | None, locale: str) -> None:
    if not user_id:
        return
    with _lock:
        if len(_locales) >= _MEMORY_SIZE:
            _locales.clear()
        _locales[user_id] = locale


def locale_without_database(user_id: str | None, profile_locale: Any) -> str:
    """The person's language from memory, else from Slack (`profile_locale(user_id)` -> str | None)."""
    if user_id:
        with _lock:
            known = _locales.get(user_id)
        if known:
            return known
        try:
            return pick_locale(profile_locale(user_id), "zh-CN")
        except Exception:  # noqa: BLE001 - Slack unreachable too: the default language
            log.warning("no language for %s without the database", user_id, exc_info=True)
    return "zh-CN"


def _first_input_block(view: dict[str, Any]) -> str | None:
    for block in view.get("blocks") or []:
        if isinstance(block, dict) and block.get("type") == "input" and isinstance(block.get("block_id"), str):
            return block["block_id"]
    return None


def answer(body: dict[str, Any], locale: str, respond: Any, client: Any, user_id: str | None,
           later: Callable[[Callable[[], None]], Any]) -> BoltResponse:
    """The immediate answer to a request the database cannot serve now. A click's or shortcut's notice goes
    through Slack after the HTTP answer, handed to `later` (the app's background queue), so a slow Slack never
    holds the request thread."""
    text = str(translate(locale, KEY))
    kind = body.get("type") or ("slash_command" if body.get("command") else None)
    as_json = {"content-type": "application/json; charset=utf-8"}
    if kind == "slash_command":
        return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": text}),
                            headers=as_json)
    if kind == "view_submission":
        block = _first_input_block(body.get("view") or {})
        if block is not None:
            return BoltResponse(status=200, body=json.dumps({"response_action": "errors", "errors": {block: text}}),
                                headers=as_json)
    if kind == "block_suggestion":
        return BoltResponse(status=200, body=json.dumps({"options": []}), headers=as_json)
    if kind in ("block_actions", "shortcut", "message_action", "view_submission"):
        def tell() -> None:
            if isinstance(body.get("response_url"), str):
                try:
                    respond(text=text, response_type="ephemeral", replace_original=False)
                    return
                except Exception as lost:  # noqa: BLE001 - the response_url failed: by DM, as below
                    log.warning("could not tell %s through the response_url that the database is away (%s)",
                                user_id, lost)
            if user_id:
                tell_by_dm(client, user_id, {"text": text})  # never raises

        later(tell)
    return BoltResponse(status=200, body="")
