"""The one parser of what a listener reads from Slack's payload (issue 8 §4): every value is hostile until checked.

Each function takes the raw value (any JSON type: a string, a number, null, a list …) and returns a checked
Python value, or raises:

- `NotUnderstood` (a CareError: "out of date or not understood", nothing changed) for values only our own
  blocks produce — button values, private_metadata, block ids: a bad one is a stale or crafted payload;
- `FormErrors` for what a person types or picks in a modal, so the modal shows the error inline.

Limits come from Slack's Block Kit schemas (`/work/shared/slack/`): a plain_text_input holds at most 3,000
characters, an option value 150, private_metadata 3,000; ids are our database's (PostgreSQL `integer`).
Whatever is echoed back to the person is cut to a short prefix (`echo`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from bot.services.errors import CareError, FormErrors

MAX_TEXT = 3000  # plain_text_input max_length (Block Kit), and what our modals declare
MAX_OPTION_VALUE = 150  # option.value (Block Kit)
MAX_METADATA = 3000  # view.private_metadata (Block Kit)
MAX_QUERY = 100  # what the customer search looks at of an external_select's typed text
MAX_ID = 2**31 - 1  # PostgreSQL integer
ECHO = 40  # characters of the person's own text repeated in a message
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: "²".isdigit() is True, int("²") fails
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class NotUnderstood(CareError):
    """A value only our own blocks produce is malformed: a stale or crafted payload."""

    def __init__(self) -> None:
        super().__init__("inbound.not_understood")


def echo(text: Any, limit: int = ECHO) -> str:
    """At most `limit` characters of what the person sent, marked when cut."""
    text = text if isinstance(text, str) else str(text)
    return text if len(text) <= limit else text[:limit] + "…"


def record_id(value: Any) -> int:
    """A database id carried by a button or the metadata: 1 ≤ id ≤ 2³¹-1 in ASCII digits, else NotUnderstood."""
    if isinstance(value, bool):
        raise NotUnderstood()
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        raise NotUnderstood()
    if not 1 <= number <= MAX_ID:
        raise NotUnderstood()
    return number


def optional_id(value: Any) -> int | None:
    """`record_id`, or None when absent (null or missing)."""
    return None if value is None else record_id(value)


def row_value(value: Any) -> tuple[str, int]:
    """A queue row's Log call button: "cb:<callback id>" or "cu:<customer id>"."""
    if not isinstance(value, str):
        raise NotUnderstood()
    prefix, _, number = value.partition(":")
    if prefix not in ("cb", "cu"):
        raise NotUnderstood()
    return prefix, record_id(number)


def offset(value: Any, limit: int = 100_000) -> int:
    """A page offset in a Show more button."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value) or int(value) > limit:
        raise NotUnderstood()
    return int(value)


def metadata(view: Any) -> dict[str, Any]:
    """A view's private_metadata as the dict we wrote; anything else (not JSON, a list, null, too long) is {}:
    the fields the caller needs are then missing and it says what it says for a missing field."""
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    if not isinstance(raw, str) or not raw or len(raw) > MAX_METADATA:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def state_values(view: Any) -> dict[str, Any]:
    """view.state.values, or {} when it is not the shape Slack sends."""
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    return values if isinstance(values, dict) else {}


def _element(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    by_action = values.get(block)
    element = by_action.get(action) if isinstance(by_action, dict) else None
    return element if isinstance(element, dict) else {}


element = _element  # the element dict of a block (empty when the payload is not Slack's shape)


def chosen(values: dict[str, Any], block: str, action: str = "value") -> str | None:
    """The value of the option picked in a select or radio group; None when nothing valid is picked."""
    option = _element(values, block, action).get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_OPTION_VALUE else None


def typed(values: dict[str, Any], block: str, action: str = "value", *, limit: int = MAX_TEXT) -> str:
    """What was typed in a plain_text_input, stripped; FormErrors on `block` when longer than `limit`."""
    value = _element(values, block, action).get("value")
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise FormErrors({block: ("form.errors.too_long", {"max": str(limit)})})
    return text


def picked_date(values: dict[str, Any], block: str, action: str = "value") -> dt.date | None:
    """A datepicker's date; FormErrors on `block` when it is not a real calendar date (2026-02-30)."""
    value = _element(values, block, action).get("selected_date")
    if value is None or value == "":
        return None
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise FormErrors({block: ("inbound.bad_date", {"value": echo(value, 12)})})


def small_number(value: str | None, low: int, high: int, block: str, key: str) -> int | None:
    """A number picked from our own options (a rating 1-5, NPS 0-10); FormErrors(`key`) when out of shape."""
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,2}", value) or not low <= int(value) <= high:
        raise FormErrors({block: (key, {})})
    return int(value)


_CHANNEL = re.compile(r"[CDG][A-Z0-9]{2,20}")


def channel_id(value: Any) -> str | None:
    """A Slack channel id we wrote into metadata (C…, D…, G…), else None (confirm by DM instead)."""
    return value if isinstance(value, str) and _CHANNEL.fullmatch(value) else None


_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")


def is_user_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_USER.fullmatch(value))


def user_id(value: Any) -> str:
    """A Slack user id picked in a users_select; NotUnderstood otherwise."""
    if not isinstance(value, str) or not _USER.fullmatch(value):
        raise NotUnderstood()
    return value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def where(body: Any) -> tuple[str | None, str | None]:
    """The channel and message ts a button was clicked on (either None when the payload does not say)."""
    body = _dict(body)
    container, channel, message = _dict(body.get("container")), _dict(body.get("channel")), _dict(body.get("message"))
    ts = container.get("message_ts") or message.get("ts")
    where_id = channel_id(container.get("channel_id")) or channel_id(channel.get("id")) \
        or channel_id(body.get("channel_id"))
    return where_id, ts if isinstance(ts, str) and _TS.fullmatch(ts) else None


def thread_of(body: Any) -> str | None:
    """The thread a click or shortcut came from: its first message's ts (`container.thread_ts`, else
    `message.thread_ts`) when the message is a reply in a thread; None for a message in the channel (the thread's
    first message too: the channel shows it) and for a value not shaped like a Slack ts."""
    body = _dict(body)
    found = (_dict(body.get(part)).get("thread_ts") for part in ("container", "message"))
    thread = next((ts for ts in found if isinstance(ts, str) and _TS.fullmatch(ts)), None)
    return thread if thread != where(body)[1] else None


def response_url(body: Any) -> str:
    """The response_url a message button always comes with (an http(s) address); NotUnderstood when a payload has
    none. Whether a reply is posted to it is handlers/deps.posting_url's question (Slack's addresses only)."""
    url = _dict(body).get("response_url")
    if not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        raise NotUnderstood()
    return url


class Fields:
    """Collects the FormErrors of several fields, so a modal shows every problem at once."""

    def __init__(self) -> None:
        self.errors: dict[str, tuple[str, dict]] = {}

    def read(self, parse, *args: Any, **kwargs: Any) -> Any:
        try:
            return parse(*args, **kwargs)
        except FormErrors as exc:
            self.errors.update(exc.errors)
            return None

    def check(self) -> None:
        if self.errors:
            raise FormErrors(self.errors)


def query(value: Any) -> str:
    """What was typed in an external_select, cut to what a search needs."""
    return value[:MAX_QUERY] if isinstance(value, str) else ""


_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def slack_text(value: Any) -> str:
    """Text as the person typed it, from text Slack escaped: a slash command's text, a message's text (not what is
    typed in a modal, which comes as typed). Slack sends `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`; each is turned
    back once, in one pass (a typed `&lt;` came as `&amp;lt;` and stays `&lt;`). Slack's own markup (`<@U…>`,
    `<#C…|name>`, `<https://…|label>`) is left as it came; a value that is not a string is ""."""
    if not isinstance(value, str):
        return ""
    return _ENTITY.sub(lambda entity: _ENTITIES[entity.group(1)], value)


def command_text(command: Any) -> tuple[str, str]:
    """`/care <name> <rest>`: the subcommand (lower case) and the rest, stripped, as the person typed them."""
    text = slack_text(command.get("text") if isinstance(command, dict) else None)
    name, _, rest = text.strip().partition(" ")
    return name.lower(), rest.strip()
