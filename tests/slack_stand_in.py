"""A Slack Web API stand-in for the test suite.

``SlackStandIn`` is a real HTTP server on 127.0.0.1 (free port, ``ThreadingHTTPServer`` in a
daemon thread) that answers like Slack's Web API closely enough that a payload Slack would
refuse is refused here too. Point ``slack_sdk.WebClient(base_url=stand_in.api_url)`` at it.

What it models (everything else answers ``unknown_method``):

* auth: ``Authorization: Bearer`` header or a ``token`` form field; a token in a JSON body or in
  the query string is ignored, as Slack does (``not_authed``); a wrong token is ``invalid_auth``.
* content types: GET query, POST form (``blocks``/``view``/``attachments`` as JSON strings) and
  POST JSON. Like Slack, methods that do not accept JSON bodies (users.info, conversations.info,
  usergroups.*, dnd.*, chat.getPermalink) ignore the arguments of a JSON body.
* Block Kit: every block and nested object is parsed with slack_sdk's models and validated
  recursively (slack_sdk's own ``validate_json`` is NOT recursive), plus the rules Slack enforces
  that slack_sdk does not (see ``_extra_block_checks`` / ``_check_view``). Refusals carry
  ``response_metadata.messages`` in Slack's ``[ERROR] ... [json-pointer:/...]`` format.
* state: messages per channel (edited by chat.update / deleted by chat.delete / replaced via a
  bound response_url), ephemeral messages, views (modals and home tabs), users, user groups,
  channels, DND, trigger ids (3 s, single use), response_urls (5 posts).

The method table (``METHODS``) lives in this module; nothing is read from outside the tests.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import re
import secrets
import threading
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block, ConfirmObject, Option, OptionGroup, TextObject
from slack_sdk.models.views import View

__all__ = ["Call", "SlackStandIn", "SlackRefusal", "METHODS", "validate_blocks", "validate_view"]

# --------------------------------------------------------------------------------------------
# Limits Slack enforces (https://docs.slack.dev/reference/block-kit/...)
# --------------------------------------------------------------------------------------------
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_CHARS = 40_000
MAX_ATTACHMENTS = 100
MAX_SECTION_FIELD_CHARS = 2000
MAX_EXTERNAL_ID_CHARS = 255
MAX_VIEW_BYTES = 250_000
MAX_RESPONSE_URL_POSTS = 5
MAX_CONVERSATION_OPEN_USERS = 8
TEXT_OBJECT_TYPES = ("plain_text", "mrkdwn")

# (parent "type", key) pairs where Slack only accepts a plain_text text object.
_PLAIN_TEXT_ONLY_KEYS = {"placeholder", "label", "hint", "title", "submit", "close", "confirm", "deny"}
_PLAIN_TEXT_ONLY_PARENTS = {
    ("header", "text"),
    ("button", "text"),
    ("workflow_button", "text"),
}
# elements whose options' text must be plain_text (checkboxes/radio_buttons allow mrkdwn)
_PLAIN_TEXT_OPTION_PARENTS = {
    "static_select",
    "multi_static_select",
    "overflow",
    "external_select",
    "multi_external_select",
}


class SlackRefusal(Exception):
    """Raised inside a method handler to answer ``ok: false``."""

    def __init__(self, error: str, messages: list[str] | None = None, status: int = 200, **extra: Any):
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.status = status
        self.extra = extra


@dataclass
class Call:
    """One request the stand-in answered."""

    method: str
    args: dict
    ok: bool
    error: str | None
    at: float
    headers: dict = field(default_factory=dict)
    status: int = 200
    response: Any = None
    http_method: str = "POST"
    content_type: str = ""

    @property
    def messages(self) -> list[str]:
        """``response_metadata.messages`` of a refusal (empty when none)."""
        if isinstance(self.response, dict):
            return list(self.response.get("response_metadata", {}).get("messages", []))
        return []


# --------------------------------------------------------------------------------------------
# Block Kit validation
# --------------------------------------------------------------------------------------------
_quiet = threading.local()


class _QuietFilter(logging.Filter):
    """Drop slack_sdk's "unknown block skipped" warnings raised while *we* validate."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_quiet, "active", False)


for _name in (
    "slack_sdk.models",
    "slack_sdk.models.blocks.blocks",
    "slack_sdk.models.blocks.block_elements",
    "slack_sdk.models.blocks.basic_components",
    "slack_sdk.models.views",
):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _QuietFilter) for f in _logger.filters):
        _logger.addFilter(_QuietFilter())


def _err(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _attributes(obj: JsonObject) -> set[str]:
    try:
        return set(obj.attributes)
    except Exception:  # pragma: no cover - defensive
        return set()


def _check_text_raw(raw: dict, ptr: str, errs: list[str], plain_only: bool) -> None:
    t = raw.get("type")
    if t not in TEXT_OBJECT_TYPES:
        errs.append(_err(f"must be one of {list(TEXT_OBJECT_TYPES)}", ptr + "/type"))
        return
    text = raw.get("text")
    if not isinstance(text, str):
        errs.append(_err("must provide a string", ptr + "/text"))
    elif len(text) == 0:
        errs.append(_err("must be more than 0 characters", ptr + "/text"))
    if plain_only and t != "plain_text":
        errs.append(_err("must be a valid enum value: plain_text", ptr + "/type"))


# slack_sdk keeps some nested objects as raw dicts (e.g. StaticSelectElement.options) or gives them an
# empty ``attributes`` set (Option, ConfirmObject, OptionGroup); parse and key-check those ourselves.
_FALLBACK_PARSERS: dict[str, Callable[..., JsonObject]] = {
    "options": Option,
    "initial_options": Option,
    "initial_option": Option,
    "option_groups": OptionGroup,
    "confirm": ConfirmObject,
}
_KNOWN_KEYS: dict[type, set[str]] = {
    Option: {"text", "value", "description", "url"},
    ConfirmObject: {"title", "text", "confirm", "deny", "style"},
    OptionGroup: {"label", "options"},
}


def _known_keys(obj: JsonObject) -> set[str]:
    for cls, keys in _KNOWN_KEYS.items():
        if isinstance(obj, cls):
            return keys | {"type"}
    return _attributes(obj) | {"type"}


def _fallback_parse(key: str, raw: dict, ptr: str, errs: list[str]) -> JsonObject | None:
    parser = _FALLBACK_PARSERS.get(key)
    if parser is None:
        return None
    try:
        return parser(**copy.deepcopy(raw))
    except Exception as e:
        errs.append(_err(f"failed to match all allowed schemas ({type(e).__name__}: {e})", ptr))
        return None


def _walk(
    raw: Any, obj: Any, ptr: str, errs: list[str], strict_keys: bool, parent_type: str | None, key: str | None
) -> None:
    """Validate ``raw`` (what was sent) against ``obj`` (slack_sdk's parse of it), recursively."""
    if not isinstance(raw, dict):
        return
    raw_type = raw.get("type")
    if raw_type in TEXT_OBJECT_TYPES or (isinstance(obj, TextObject) and "text" in raw):
        plain_only = key in _PLAIN_TEXT_ONLY_KEYS or (parent_type, key) in _PLAIN_TEXT_ONLY_PARENTS
        _check_text_raw(raw, ptr, errs, plain_only)
    if not isinstance(obj, JsonObject) and key is not None and raw_type not in TEXT_OBJECT_TYPES:
        obj = _fallback_parse(key, raw, ptr, errs)
    if isinstance(obj, JsonObject):
        try:
            obj.validate_json()
        except SlackObjectFormationError as e:
            errs.append(_err(str(e), ptr))
        except Exception as e:  # slack_sdk validators may crash on missing values
            errs.append(_err(f"invalid object ({type(e).__name__}: {e})", ptr))
        if strict_keys:
            known = _known_keys(obj)
            for k in raw:
                if k not in known:
                    errs.append(_err(f"invalid additional property: {k}", ptr))
    this_type = raw_type if isinstance(raw_type, str) else None
    declared = _known_keys(obj) if isinstance(obj, JsonObject) else set()
    for k, v in raw.items():
        child = getattr(obj, k, None) if isinstance(obj, JsonObject) else None
        cptr = f"{ptr}/{k}"
        if v is None:
            if k != "type":
                errs.append(_err("must provide a non-null value", cptr))
        elif isinstance(child, JsonObject) and not isinstance(v, dict):
            # slack_sdk turns "text": "hi" into a text object; Slack wants the object
            errs.append(_err("must provide an object", cptr))
        elif isinstance(v, dict):
            if child is None and k in declared and k not in _FALLBACK_PARSERS:
                errs.append(_err("failed to match all allowed schemas", cptr))
            _walk(v, child, cptr, errs, strict_keys, this_type, k)
        elif isinstance(v, list):
            children = child if isinstance(child, (list, tuple)) else None
            if children is not None and len(children) != len(v):
                errs.append(_err("failed to match all allowed schemas", cptr))
                children = None
            for i, item in enumerate(v):
                ichild = children[i] if children is not None else None
                iptr = f"{cptr}/{i}"
                if isinstance(item, dict):
                    if ichild is None and k in declared and k not in _FALLBACK_PARSERS:
                        errs.append(_err("failed to match all allowed schemas", iptr))
                    _walk(item, ichild, iptr, errs, strict_keys, this_type, k)
                elif isinstance(ichild, JsonObject):
                    errs.append(_err("must provide an object", iptr))


def _action_ids(block: dict) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k in ("elements", "element", "accessory"):
        v = block.get(k)
        items = v if isinstance(v, list) else [v]
        for i, el in enumerate(items):
            if isinstance(el, dict) and isinstance(el.get("action_id"), str):
                path = f"/{k}/{i}" if isinstance(v, list) else f"/{k}"
                out.append((el["action_id"], path))
    return out


def _extra_block_checks(b: dict, ptr: str, errs: list[str]) -> None:
    """Rules Slack enforces that slack_sdk's validate_json does not."""
    t = b.get("type")
    if t == "section":
        for i, f in enumerate(b.get("fields") or []):
            if (
                isinstance(f, dict)
                and isinstance(f.get("text"), str)
                and len(f["text"]) > MAX_SECTION_FIELD_CHARS
            ):
                errs.append(
                    _err(
                        f"must be less than {MAX_SECTION_FIELD_CHARS + 1} characters",
                        f"{ptr}/fields/{i}/text",
                    )
                )
    if t in ("actions", "context"):
        els = b.get("elements")
        if not isinstance(els, list) or not els:
            errs.append(_err("must provide at least 1 item", f"{ptr}/elements"))
    seen: set[str] = set()
    for aid, path in _action_ids(b):
        if aid in seen:
            errs.append(_err(f"duplicate action_id: {aid}", ptr + path + "/action_id"))
        seen.add(aid)


def _validate_block_list(blocks: Any, ptr: str, max_blocks: int, strict_keys: bool) -> list[str]:
    errs: list[str] = []
    if not isinstance(blocks, list):
        return [_err("must provide an array", ptr)]
    if len(blocks) > max_blocks:
        errs.append(_err(f"no more than {max_blocks} items allowed", ptr))
    block_ids: set[str] = set()
    _quiet.active = True
    try:
        for i, b in enumerate(blocks):
            p = f"{ptr}/{i}"
            if not isinstance(b, dict):
                errs.append(_err("must provide an object", p))
                continue
            if not isinstance(b.get("type"), str):
                errs.append(_err("missing required field: type", p))
                continue
            bid = b.get("block_id")
            if isinstance(bid, str):
                if bid in block_ids:
                    errs.append(_err(f"duplicate block_id: {bid}", p + "/block_id"))
                block_ids.add(bid)
            try:
                obj = Block.parse(copy.deepcopy(b))
            except Exception as e:
                errs.append(_err(f"failed to match all allowed schemas ({type(e).__name__}: {e})", p))
                continue
            if obj is None:
                errs.append(_err(f"unknown block type: {b['type']}", p + "/type"))
                continue
            _walk_block(b, obj, p, errs, strict_keys)
            _extra_block_checks(b, p, errs)
    finally:
        _quiet.active = False
    return errs


def _walk_block(b: dict, obj: Block, p: str, errs: list[str], strict_keys: bool) -> None:
    # options inside select menus / overflow need plain_text; inside checkboxes/radios mrkdwn is fine
    _walk(b, obj, p, errs, strict_keys, None, None)
    for k in ("elements", "element", "accessory"):
        v = b.get(k)
        for i, el in enumerate(v if isinstance(v, list) else [v]):
            if isinstance(el, dict) and el.get("type") in _PLAIN_TEXT_OPTION_PARENTS:
                base = f"{p}/{k}/{i}" if isinstance(v, list) else f"{p}/{k}"
                opts = list(el.get("options") or [])
                for g in el.get("option_groups") or []:
                    opts.extend((g or {}).get("options") or [])
                for j, o in enumerate(opts):
                    if (
                        isinstance(o, dict)
                        and isinstance(o.get("text"), dict)
                        and o["text"].get("type") != "plain_text"
                    ):
                        errs.append(
                            _err("must be a valid enum value: plain_text", f"{base}/options/{j}/text/type")
                        )


def validate_blocks(
    blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS, pointer: str = "/blocks", strict_keys: bool = True
) -> list[str]:
    """Return Slack-style error messages for a list of blocks (empty list = valid)."""
    return _validate_block_list(blocks, pointer, max_blocks, strict_keys)


def validate_view(
    view: Any,
    *,
    strict_keys: bool = True,
    allowed_types: tuple[str, ...] = ("modal", "home"),
    pointer: str = "/view",
) -> list[str]:
    """Return Slack-style error messages for a view (empty list = valid)."""
    if not isinstance(view, dict):
        return [_err("must provide an object", pointer)]
    errs: list[str] = []
    vtype = view.get("type")
    if vtype not in allowed_types:
        errs.append(_err(f"must be a valid enum value: {' or '.join(allowed_types)}", pointer + "/type"))
    if "blocks" not in view:
        errs.append(_err("missing required field: blocks", pointer))
    _quiet.active = True
    try:
        try:
            v = View(**copy.deepcopy(view))
            v.validate_json()
        except SlackObjectFormationError as e:
            errs.append(_err(str(e), pointer))
        except Exception as e:
            errs.append(_err(f"failed to match all allowed schemas ({type(e).__name__}: {e})", pointer))
    finally:
        _quiet.active = False
    if strict_keys:
        for k in view:
            if k not in View.attributes:
                errs.append(_err(f"invalid additional property: {k}", pointer))
    for k in ("title", "submit", "close"):
        t = view.get(k)
        if t is None:
            continue
        if not isinstance(t, dict):
            errs.append(_err("must provide an object", f"{pointer}/{k}"))
            continue
        _check_text_raw(t, f"{pointer}/{k}", errs, plain_only=True)
    if vtype == "modal":
        if view.get("title") is None:
            errs.append(_err("missing required field: title", pointer))
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            errs.append(_err("must provide submit when an input block is present", pointer + "/submit"))
    ext = view.get("external_id")
    if isinstance(ext, str) and len(ext) > MAX_EXTERNAL_ID_CHARS:
        errs.append(
            _err(f"must be less than {MAX_EXTERNAL_ID_CHARS + 1} characters", pointer + "/external_id")
        )
    pm = view.get("private_metadata")
    if pm is not None and not isinstance(pm, str):
        errs.append(_err("must provide a string", pointer + "/private_metadata"))
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        errs.append(_err("view is too large", pointer))
    if "blocks" in view:
        errs.extend(_validate_block_list(view["blocks"], pointer + "/blocks", MAX_VIEW_BLOCKS, strict_keys))
    return list(dict.fromkeys(errs))


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _truthy(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    return isinstance(v, str) and v.strip().lower() in ("1", "true", "yes")


_JSON_ARGS = ("blocks", "view", "attachments", "metadata")
_TS_RE = re.compile(r"^\d{1,12}\.\d{1,6}$")
_CHANNEL_ID_RE = re.compile(r"^[CG][A-Z0-9]+$")
_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]+$")


@dataclass
class _Method:
    handler: str  # name of the SlackStandIn method that handles it
    json_ok: bool  # does Slack accept application/json bodies for it?
    required: tuple[tuple[str, str], ...] = ()  # (arg, error when missing)


# The method table. "required" maps an argument to the error Slack gives when it is missing.
METHODS: dict[str, _Method] = {
    "api.test": _Method("_m_api_test", True),
    "auth.test": _Method("_m_auth_test", True),
    "chat.postMessage": _Method("_m_chat_post_message", True, (("channel", "channel_not_found"),)),
    "chat.postEphemeral": _Method(
        "_m_chat_post_ephemeral", True, (("channel", "channel_not_found"), ("user", "user_not_in_channel"))
    ),
    "chat.update": _Method(
        "_m_chat_update", True, (("channel", "channel_not_found"), ("ts", "message_not_found"))
    ),
    "chat.delete": _Method(
        "_m_chat_delete", True, (("channel", "channel_not_found"), ("ts", "message_not_found"))
    ),
    "chat.getPermalink": _Method(
        "_m_chat_get_permalink",
        False,
        (("channel", "channel_not_found"), ("message_ts", "message_not_found")),
    ),
    "conversations.open": _Method("_m_conversations_open", True),
    "conversations.info": _Method("_m_conversations_info", False, (("channel", "channel_not_found"),)),
    "conversations.history": _Method("_m_conversations_history", False, (("channel", "channel_not_found"),)),
    "views.open": _Method("_m_views_open", True, (("view", "invalid_arguments"),)),
    "views.push": _Method("_m_views_push", True, (("view", "invalid_arguments"),)),
    "views.update": _Method("_m_views_update", True, (("view", "invalid_arguments"),)),
    "views.publish": _Method(
        "_m_views_publish", True, (("user_id", "invalid_arguments"), ("view", "invalid_arguments"))
    ),
    "users.info": _Method("_m_users_info", False, (("user", "user_not_found"),)),
    "users.list": _Method("_m_users_list", False),
    "users.lookupByEmail": _Method("_m_users_lookup_by_email", False, (("email", "users_not_found"),)),
    "usergroups.users.list": _Method(
        "_m_usergroups_users_list", False, (("usergroup", "invalid_arguments"),)
    ),
    "usergroups.list": _Method("_m_usergroups_list", False),
    "dnd.info": _Method("_m_dnd_info", False),
    "dnd.teamInfo": _Method("_m_dnd_team_info", False, (("users", "invalid_arguments"),)),
    # uploads in two steps: get a URL for `length` bytes, POST exactly those bytes to it, then complete
    "files.getUploadURLExternal": _Method(
        "_m_files_get_upload_url_external", False,
        (("filename", "invalid_arguments"), ("length", "invalid_arguments")),
    ),
    "files.completeUploadExternal": _Method(
        "_m_files_complete_upload_external", False, (("files", "invalid_arguments"),)
    ),
    "files.info": _Method("_m_files_info", False, (("file", "file_not_found"),)),
}
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024  # Slack's 1 GB file limit


class _Handler(BaseHTTPRequestHandler):
    server_version = "SlackStandIn/1.0"
    stand_in: SlackStandIn  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from stdlib
        return

    def do_GET(self) -> None:  # noqa: N802
        self.stand_in._dispatch(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        self.stand_in._dispatch(self, "POST")

    def _send(self, status: int, body: Any, headers: dict | None = None) -> None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            ctype = "application/json; charset=utf-8"
        else:
            data = str(body).encode()
            ctype = "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)


# --------------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------------
class SlackStandIn:
    """A fake Slack Web API on 127.0.0.1. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        token: str = "xoxb-test-token",
        team_id: str = "T0TEST",
        bot_user_id: str = "U0BOT",
        *,
        bot_id: str = "B0BOT",
        app_id: str = "A0TEST",
        team_domain: str = "carebot-test",
        trigger_ttl: float = 3.0,
        auto_channels: bool = True,
        strict_keys: bool = True,
    ):
        self.token = token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.team_domain = team_domain
        self.trigger_ttl = trigger_ttl
        self.auto_channels = auto_channels  # any well-formed C.../G... id exists
        self.strict_keys = strict_keys  # refuse block/view keys slack_sdk's models don't know
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._responses: list[tuple[str, dict]] = []
        self._hooks: dict[str, dict] = {}  # path -> {"name", "count", "channel", "ts"}
        self._hook_counter = 0
        self._triggers: dict[str, dict] = {}
        self._trigger_counter = 0
        self._failures: dict[str, list[dict]] = {}
        self._chaos: dict | None = None  # set by chaos(): seeded random faults
        self.faults: list[tuple[str, str]] = []  # (method, fault) for every fault served, in order
        self._users: dict[str, dict] = {}
        self._usergroups: dict[str, dict] = {}
        self._channels: dict[str, dict] = {}
        self._dnd: dict[str, dict] = {}
        self._messages: dict[str, list[dict]] = {}
        self._ephemerals: list[dict] = []
        self._views: dict[str, dict] = {}
        self._home_views: dict[str, str] = {}
        self._view_counter = 0
        self._uploads: dict[str, dict] = {}  # file id -> filename, length, content (once POSTed), completed
        self._upload_counter = 0
        self._last_ts = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.api_url = ""
        self.base_url = ""
        self.add_user(bot_user_id, name="carebot", real_name="Carebot", is_bot=True)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> SlackStandIn:
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"stand_in": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        port = server.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.api_url = f"{self.base_url}/api/"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---------------------------------------------------------------- fixtures / setup
    def add_user(
        self,
        user_id: str,
        name: str = "",
        real_name: str = "",
        locale: str = "en-US",
        tz: str = "Asia/Shanghai",
        is_bot: bool = False,
        *,
        email: str | None = None,
        deleted: bool = False,
        display_name: str = "",
    ) -> None:
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "name": name or user_id.lower(),
                "real_name": real_name or name or user_id,
                "locale": locale,
                "tz": tz,
                "is_bot": is_bot,
                "email": email,
                "deleted": deleted,
                "display_name": display_name,
            }

    def add_usergroup(
        self, usergroup_id: str, handle: str, members: list[str], *, name: str = "", disabled: bool = False
    ) -> None:
        with self._lock:
            self._usergroups[usergroup_id] = {
                "id": usergroup_id,
                "handle": handle,
                "name": name or handle,
                "users": list(members),
                "disabled": disabled,
            }

    def add_channel(
        self,
        channel_id: str,
        name: str = "",
        *,
        is_private: bool = False,
        is_archived: bool = False,
        members: list[str] | None = None,
    ) -> None:
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name or channel_id.lower(),
                "is_private": is_private,
                "is_archived": is_archived,
                "members": list(members or []),
            }

    def set_dnd(
        self,
        user_id: str,
        snooze_enabled: bool,
        next_dnd_start_ts: int | None = None,
        next_dnd_end_ts: int | None = None,
        *,
        dnd_enabled: bool | None = None,
        snooze_endtime: int | None = None,
    ) -> None:
        with self._lock:
            self._dnd[user_id] = {
                "dnd_enabled": bool(next_dnd_start_ts) if dnd_enabled is None else dnd_enabled,
                "next_dnd_start_ts": next_dnd_start_ts or 1,
                "next_dnd_end_ts": next_dnd_end_ts or 1,
                "snooze_enabled": snooze_enabled,
                "snooze_endtime": snooze_endtime,
            }

    def add_message(
        self,
        channel: str,
        text: str,
        user: str,
        *,
        ts: str | None = None,
        blocks: list | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Seed a message (e.g. one a human wrote). Returns its ts."""
        with self._lock:
            ts = ts or self._new_ts()
            msg = {
                "type": "message",
                "ts": ts,
                "text": text,
                "user": user,
                "blocks": blocks or [],
                "attachments": [],
            }
            if thread_ts:
                msg["thread_ts"] = thread_ts
            self._messages.setdefault(channel, []).append(msg)
            return ts

    def response_url(self, name: str = "r", *, channel: str | None = None, ts: str | None = None) -> str:
        """A response_url that records JSON POSTs (5 at most, then 404 "used_url").

        Bound to (channel, ts), ``replace_original`` / ``delete_original`` edit that message.
        """
        with self._lock:
            self._hook_counter += 1
            path = f"/hooks/{name}/{self._hook_counter}"
            self._hooks[path] = {"name": name, "count": 0, "channel": channel, "ts": ts}
            return self.base_url + path

    def new_trigger_id(self) -> str:
        """A trigger id valid for ``trigger_ttl`` seconds and a single views.open/views.push."""
        with self._lock:
            self._trigger_counter += 1
            tid = f"{self._trigger_counter}.{int(time.time())}.{secrets.token_hex(16)}"
            self._triggers[tid] = {"created": time.monotonic(), "used": False}
            return tid

    def fail_next(
        self, method: str, error: str = "ratelimited", status: int = 429, retry_after: int = 1, times: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (429 + Retry-After by default)."""
        with self._lock:
            for _ in range(times):
                self._failures.setdefault(method, []).append(
                    {"error": error, "status": status, "retry_after": retry_after}
                )

    def hang_next(self, method: str, seconds: float, *, after_effect: bool = True, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` hang ``seconds`` before answering (past the client's
        timeout). ``after_effect``: the call takes effect first (a message IS posted, the answer is lost),
        else nothing happens (the worst and the mildest cases of a lost answer)."""
        with self._lock:
            for _ in range(times):
                self._failures.setdefault(method, []).append(
                    {"hang": seconds, "after_effect": after_effect, "error": "", "status": 0})

    def slow(self, method: str, seconds: float) -> None:
        """Every call of ``method`` takes effect, then waits ``seconds`` before answering (0 stops it):
        a process killed in that window has posted without knowing it."""
        with self._lock:
            self._slow = {**getattr(self, "_slow", {}), method: seconds}

    def slow_hook(self, name: str, seconds: float) -> None:
        """response_urls named ``name`` take the reply, then answer ``seconds`` late (0 stops it)."""
        with self._lock:
            self._slow_hooks = {**getattr(self, "_slow_hooks", {}), name: seconds}

    def chaos(self, seed: int, share: float = 0.2, *, methods: tuple[str, ...] | None = None,
              hang_seconds: float = 1.5, retry_after: int = 1) -> None:
        """From now on, a ``share`` of calls (of ``methods``, default all) fail, chosen by a random generator
        seeded with ``seed``: 429 with Retry-After, 500, or a hang of ``hang_seconds`` (after the effect
        or before it). Every fault served is appended to ``faults``. ``chaos_off()`` stops it."""
        with self._lock:
            self._chaos = {"random": random.Random(seed), "share": share, "methods": methods,
                           "hang": hang_seconds, "retry_after": retry_after}

    def chaos_off(self) -> None:
        with self._lock:
            self._chaos = None

    def _next_fault(self, method: str) -> dict | None:
        with self._lock:
            queue = self._failures.get(method)
            if queue:
                return queue.pop(0)
            chaos = self._chaos
            if chaos is None or (chaos["methods"] is not None and method not in chaos["methods"]):
                return None
            rng = chaos["random"]
            if rng.random() >= chaos["share"]:
                return None
            kind = rng.choice(("ratelimited", "internal_error", "hang_after", "hang_before"))
            if kind == "ratelimited":
                return {"error": "ratelimited", "status": 429, "retry_after": chaos["retry_after"]}
            if kind == "internal_error":
                return {"error": "internal_error", "status": 500}
            return {"hang": chaos["hang"], "after_effect": kind == "hang_after", "error": "", "status": 0}

    def reset(self, *, state: bool = False) -> None:
        """Clear recorded calls, responses and pending fail_next. ``state=True`` also clears
        messages, ephemerals, views and trigger ids (users, groups, channels, DND always stay)."""
        with self._lock:
            self._calls.clear()
            self._responses.clear()
            self._failures.clear()
            if state:
                self._messages.clear()
                self._ephemerals.clear()
                self._views.clear()
                self._home_views.clear()
                self._triggers.clear()

    # ---------------------------------------------------------------- inspection
    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def ok_calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.ok]

    def refused(self) -> list[Call]:
        return [c for c in self.calls if not c.ok]

    def describe_calls(self) -> str:
        lines = []
        for c in self.calls:
            if c.ok:
                lines.append(f"  {c.method}: ok")
            else:
                msgs = "; ".join(c.messages)
                lines.append(f"  {c.method}: REFUSED {c.error}" + (f" ({msgs})" if msgs else ""))
        return "\n".join(lines) or "  (no calls)"

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [c for c in self._calls if c.method == method and c.ok]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        raise AssertionError(
            f"expected {count} ok call(s) to {method} within {timeout}s, got {len(got)}. Calls:\n"
            + self.describe_calls()
        )

    def responses(self, name: str | None = None) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(b) for n, b in self._responses if name is None or n == name]

    def messages(self, channel: str) -> list[dict]:
        with self._lock:
            cid = self._resolve_channel_id(channel) or channel
            return [copy.deepcopy(m) for m in self._messages.get(cid, [])]

    def ephemerals(self, channel: str | None = None) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(m) for m in self._ephemerals if channel is None or m["channel"] == channel]

    def view(self, view_id: str | None = None, *, external_id: str | None = None) -> dict | None:
        with self._lock:
            v = self._find_view(view_id, external_id)
            return copy.deepcopy(v) if v else None

    def home_view(self, user_id: str) -> dict | None:
        with self._lock:
            vid = self._home_views.get(user_id)
            return copy.deepcopy(self._views[vid]) if vid else None

    def files(self, channel: str | None = None) -> list[dict]:
        """Uploads completed (shared into `channel` when given), each with its bytes as `content`."""
        with self._lock:
            return [copy.deepcopy(u) for u in self._uploads.values()
                    if u["completed"] and (channel is None or u.get("channel") == channel)]

    def dm_channel_id(self, user_id: str) -> str:
        return "D" + user_id[1:]

    # ---------------------------------------------------------------- HTTP plumbing
    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _dispatch(self, req: _Handler, http_method: str) -> None:
        parts = urlsplit(req.path)
        headers = {k: v for k, v in req.headers.items()}
        length = int(req.headers.get("Content-Length") or 0)
        raw_body = req.rfile.read(length) if length > 0 else b""
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if parts.path.startswith("/hooks/"):
            self._handle_hook(req, parts.path, raw_body, ctype, headers, http_method)
            return
        if parts.path.startswith("/upload/v1/"):
            self._handle_upload(req, parts.path[len("/upload/v1/"):], raw_body, ctype, headers, http_method)
            return
        if not parts.path.startswith("/api/"):
            req._send(404, "not found")
            return
        method = parts.path[len("/api/") :]
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        status, body, extra_headers = 200, None, {}
        hang: dict | None = None
        args: dict = {}
        json_ignored = False
        try:
            spec = METHODS.get(method)
            if spec is None:
                args = {k: v for k, v in query.items() if k != "token"}
                raise SlackRefusal("unknown_method", status=404)
            json_ignored = bool(raw_body) and ctype == "application/json" and not spec.json_ok
            args, form_token = self._parse_args(spec, query, raw_body, ctype, http_method)
            failure = self._next_fault(method)
            if failure is not None and "hang" in failure:
                hang = failure
                failure = None
                with self._lock:
                    self.faults.append((method, "hang_after" if hang["after_effect"] else "hang_before"))
                if not hang["after_effect"]:
                    time.sleep(hang["hang"])  # the client has given up; nothing happened
                    return
            elif failure is not None:
                with self._lock:
                    self.faults.append((method, str(failure["status"])))
            if failure is not None:
                if failure["status"] == 429:
                    extra_headers["Retry-After"] = str(failure["retry_after"])
                raise SlackRefusal(failure["error"], status=failure["status"])
            self._check_auth(headers, form_token)
            for arg, error in spec.required:
                if args.get(arg) in (None, ""):
                    raise SlackRefusal(error, [f"[ERROR] missing required field: {arg}"])
            with self._lock:
                result = getattr(self, spec.handler)(args)
            body = {"ok": True, **result}
        except SlackRefusal as r:
            status = r.status
            body = {"ok": False, "error": r.error, **r.extra}
            messages = list(r.messages)
            if json_ignored:
                messages.append(
                    f"[WARN] {method} does not accept application/json bodies; their arguments are ignored"
                )
            if messages:
                body["response_metadata"] = {"messages": messages}
        except Exception as e:  # a bug in the stand-in: answer like Slack's fatal_error, but visibly
            status = 500
            body = {
                "ok": False,
                "error": "fatal_error",
                "response_metadata": {"messages": [f"[ERROR] stand-in crashed: {type(e).__name__}: {e}"]},
            }
        self._record(
            Call(
                method=method,
                args=args,
                ok=bool(body.get("ok")),
                error=body.get("error"),
                at=time.time(),
                headers=headers,
                status=status,
                response=copy.deepcopy(body),
                http_method=http_method,
                content_type=ctype,
            )
        )
        if hang is not None:
            time.sleep(hang["hang"])  # it happened, but the client has given up waiting for the answer
        elif getattr(self, "_slow", {}).get(method):
            time.sleep(self._slow[method])
        try:
            req._send(status, body, extra_headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client left (timed out)

    def _parse_args(
        self, spec: _Method, query: dict, raw: bytes, ctype: str, http_method: str
    ) -> tuple[dict, str | None]:
        args: dict = {k: v for k, v in query.items() if k != "token"}  # query tokens are not accepted
        form_token = None
        if http_method == "POST" and raw:
            if ctype == "application/json":
                try:
                    data = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise SlackRefusal("invalid_json") from None
                if not isinstance(data, dict):
                    raise SlackRefusal("invalid_json")
                data.pop("token", None)  # Slack ignores tokens in JSON bodies
                if spec.json_ok:
                    args.update(data)
            elif ctype in ("application/x-www-form-urlencoded", ""):
                if not ctype:
                    raise SlackRefusal("missing_post_type")
                form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                form_token = form.pop("token", None)
                args.update(form)
            else:
                raise SlackRefusal("invalid_post_type")
        # decode JSON-string arguments (form / query)
        for k in _JSON_ARGS:
            v = args.get(k)
            if isinstance(v, str):
                if v == "":
                    args[k] = None
                    continue
                try:
                    args[k] = json.loads(v)
                except json.JSONDecodeError:
                    error = {
                        "blocks": "invalid_blocks_format",
                        "attachments": "invalid_attachments",
                        "metadata": "invalid_metadata_format",
                    }.get(k, "invalid_arguments")
                    raise SlackRefusal(error, [_err("unable to parse JSON", "/" + k)]) from None
        return args, form_token

    def _check_auth(self, headers: dict, form_token: str | None) -> None:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        token = None
        if auth:
            if not auth.startswith("Bearer "):
                raise SlackRefusal("invalid_auth")
            token = auth[len("Bearer ") :].strip()
        elif form_token:
            token = form_token
        if not token:
            raise SlackRefusal("not_authed")
        if token != self.token:
            raise SlackRefusal("invalid_auth")

    def _handle_hook(
        self, req: _Handler, path: str, raw: bytes, ctype: str, headers: dict, http_method: str
    ) -> None:
        body: Any = None
        status, answer, error = 200, "ok", None
        with self._lock:
            hook = self._hooks.get(path)
            name = hook["name"] if hook else path.split("/")[2]
            if http_method != "POST":
                status, answer, error = 405, "invalid_method", "invalid_method"
            elif hook is None:
                status, answer, error = 404, "no_service", "no_service"
            elif hook["count"] >= MAX_RESPONSE_URL_POSTS:
                status, answer, error = 404, "used_url", "used_url"
            else:
                hook["count"] += 1
                try:
                    body = json.loads(raw.decode("utf-8")) if raw else None
                except (UnicodeDecodeError, json.JSONDecodeError):
                    body = None
                if not isinstance(body, dict):
                    status, answer, error = 400, "invalid_payload", "invalid_payload"
                else:
                    try:
                        self._apply_hook(hook, body)
                    except SlackRefusal as r:
                        status, answer, error = 400, r.error, r.error
                    else:
                        self._responses.append((name, copy.deepcopy(body)))
        self._record(
            Call(
                method="response_url",
                args={"name": name, "url": path, "body": body},
                ok=error is None,
                error=error,
                at=time.time(),
                headers=headers,
                status=status,
                response=answer,
                http_method=http_method,
                content_type=ctype,
            )
        )
        late = getattr(self, "_slow_hooks", {}).get(name) or getattr(self, "_slow", {}).get("response_url")
        if late:  # slow("response_url", s): every hook answers late; slow_hook(name, s): those named so
            time.sleep(late)
        try:
            req._send(status, answer)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client left (timed out)

    def _handle_upload(
        self, req: _Handler, file_id: str, raw: bytes, ctype: str, headers: dict, http_method: str
    ) -> None:
        """The upload URL of files.getUploadURLExternal: takes exactly the announced number of bytes, once."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if http_method != "POST":
                status, answer = 405, "invalid_method"
            elif upload is None:
                status, answer = 404, "file_not_found"
            elif upload["content"] is not None:
                status, answer = 400, "already_uploaded"
            elif len(raw) != upload["length"]:
                status, answer = 400, f"length_mismatch: announced {upload['length']}, sent {len(raw)}"
            else:
                upload["content"] = bytes(raw)
                status, answer = 200, f"OK - {len(raw)}"
        self._record(
            Call(
                method="upload",
                args={"file_id": file_id, "bytes": len(raw)},
                ok=status == 200,
                error=None if status == 200 else answer,
                at=time.time(),
                headers=headers,
                status=status,
                response=answer,
                http_method=http_method,
                content_type=ctype,
            )
        )
        req._send(status, answer)

    def _apply_hook(self, hook: dict, body: dict) -> None:
        if _truthy(body.get("delete_original")):
            if hook["channel"] and hook["ts"]:
                self._delete_message(hook["channel"], hook["ts"])
            return
        self._check_message_payload(body, require_content=True)
        if _truthy(body.get("replace_original")) and hook["channel"] and hook["ts"]:
            msg = self._find_message(hook["channel"], hook["ts"])
            if msg is None:
                raise SlackRefusal("message_not_found")
            msg["text"] = body.get("text", "")
            msg["blocks"] = body.get("blocks") or []
            msg["attachments"] = body.get("attachments") or []
            msg["edited"] = {"user": self.bot_user_id, "ts": self._new_ts()}

    # ---------------------------------------------------------------- model helpers
    def _new_ts(self) -> str:
        with self._lock:
            now = max(time.time(), self._last_ts + 0.000001)
            self._last_ts = round(now, 6)
            return f"{self._last_ts:.6f}"

    def _new_view_id(self) -> str:
        self._view_counter += 1
        return f"V0{self._view_counter:08X}"

    def _resolve_channel_id(self, channel: Any) -> str | None:
        """Channel id for a channel argument (C/G/D id, user id -> DM, #name), or None."""
        if not isinstance(channel, str) or not channel:
            return None
        if channel in self._channels:
            return channel
        if channel.startswith("#"):
            for cid, ch in self._channels.items():
                if ch["name"] == channel[1:]:
                    return cid
            return None
        if channel.startswith("D") and ("U" + channel[1:] in self._users or "W" + channel[1:] in self._users):
            return channel
        if _USER_ID_RE.match(channel) and channel in self._users:
            return self.dm_channel_id(channel)
        if self.auto_channels and _CHANNEL_ID_RE.match(channel):
            self.add_channel(channel)
            return channel
        return None

    def _channel_or_refuse(self, channel: Any, *, for_posting: bool = False) -> str:
        cid = self._resolve_channel_id(channel)
        if cid is None:
            raise SlackRefusal("channel_not_found")
        ch = self._channels.get(cid)
        if for_posting and ch and ch["is_archived"]:
            raise SlackRefusal("is_archived")
        return cid

    def _find_message(self, channel: str, ts: str) -> dict | None:
        cid = self._resolve_channel_id(channel) or channel
        for m in self._messages.get(cid, []):
            if m["ts"] == ts:
                return m
        return None

    def _delete_message(self, channel: str, ts: str) -> None:
        cid = self._resolve_channel_id(channel) or channel
        msgs = self._messages.get(cid, [])
        self._messages[cid] = [m for m in msgs if m["ts"] != ts]

    def _check_message_payload(self, args: dict, *, require_content: bool) -> None:
        text, blocks, attachments = args.get("text"), args.get("blocks"), args.get("attachments")
        if blocks is not None:
            if not isinstance(blocks, list):
                raise SlackRefusal("invalid_blocks_format", [_err("must provide an array", "/blocks")])
            errs = validate_blocks(blocks, strict_keys=self.strict_keys)
            if errs:
                raise SlackRefusal("invalid_blocks", errs, errors=[e[len("[ERROR] ") :] for e in errs])
        if attachments is not None:
            if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
                raise SlackRefusal(
                    "invalid_attachments", [_err("must provide an array of objects", "/attachments")]
                )
            if len(attachments) > MAX_ATTACHMENTS:
                raise SlackRefusal("too_many_attachments")
            for i, a in enumerate(attachments):
                if "blocks" in a:
                    errs = validate_blocks(
                        a["blocks"], pointer=f"/attachments/{i}/blocks", strict_keys=self.strict_keys
                    )
                    if errs:
                        raise SlackRefusal(
                            "invalid_blocks", errs, errors=[e[len("[ERROR] ") :] for e in errs]
                        )
        if text is not None and not isinstance(text, str):
            text = str(text)
            args["text"] = text
        if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
            raise SlackRefusal("msg_too_long")
        if require_content and not text and not blocks and not attachments:
            raise SlackRefusal("no_text")
        metadata = args.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict) or "event_type" not in metadata or "event_payload" not in metadata
        ):
            raise SlackRefusal("invalid_metadata_format")

    def _check_view_or_refuse(self, view: Any, allowed: tuple[str, ...]) -> dict:
        errs = validate_view(view, strict_keys=self.strict_keys, allowed_types=allowed)
        if errs:
            if any("view is too large" in e for e in errs):
                raise SlackRefusal("view_too_large", errs)
            raise SlackRefusal("invalid_arguments", errs)
        return view

    def _consume_trigger(self, args: dict) -> None:
        tid = args.get("trigger_id") or args.get("interactivity_pointer")
        if not tid:
            raise SlackRefusal("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        trig = self._triggers.get(tid)
        if trig is None:
            raise SlackRefusal("invalid_trigger_id", ["[ERROR] invalid `trigger_id`"])
        if trig["used"]:
            raise SlackRefusal("invalid_trigger_id", ["[ERROR] `trigger_id` was already exchanged"])
        if time.monotonic() - trig["created"] > self.trigger_ttl:
            raise SlackRefusal("expired_trigger_id", ["[ERROR] `trigger_id` expired"])
        trig["used"] = True

    def _store_view(
        self,
        view: dict,
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict:
        vid = view_id or self._new_view_id()
        ext = view.get("external_id") or ""
        if ext:
            other = self._find_view(None, ext)
            if other is not None and other["id"] != vid:
                raise SlackRefusal("duplicate_external_id")
        stored = {
            "id": vid,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": copy.deepcopy(view["blocks"]),
            "private_metadata": view.get("private_metadata") or "",
            "callback_id": view.get("callback_id") or "",
            "external_id": ext,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": bool(view.get("clear_on_close")),
            "notify_on_close": bool(view.get("notify_on_close")),
            "root_view_id": root_view_id or vid,
            "previous_view_id": previous_view_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }
        for k in ("title", "submit", "close"):
            if view.get(k) is not None:
                stored[k] = copy.deepcopy(view[k])
        self._views[vid] = stored
        return copy.deepcopy(stored)

    def _find_view(self, view_id: str | None, external_id: str | None) -> dict | None:
        if view_id:
            return self._views.get(view_id)
        if external_id:
            return next((v for v in self._views.values() if v["external_id"] == external_id), None)
        return None

    def _user_object(self, u: dict, include_locale: bool) -> dict:
        try:
            zone = zoneinfo.ZoneInfo(u["tz"])
            now = datetime.now(UTC).astimezone(zone)
            offset = int(now.utcoffset().total_seconds())  # type: ignore[union-attr]
            label = now.tzname() or u["tz"]
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            offset, label = 0, u["tz"]
        obj = {
            "id": u["id"],
            "team_id": self.team_id,
            "name": u["name"],
            "deleted": u["deleted"],
            "real_name": u["real_name"],
            "tz": u["tz"],
            "tz_label": label,
            "tz_offset": offset,
            "is_bot": u["is_bot"],
            "is_admin": False,
            "is_owner": False,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": {
                "real_name": u["real_name"],
                "display_name": u["display_name"],
                "real_name_normalized": u["real_name"],
                "display_name_normalized": u["display_name"],
                "team": self.team_id,
            },
        }
        if u["email"]:
            obj["profile"]["email"] = u["email"]
        if u["is_bot"] and u["id"] == self.bot_user_id:
            obj["profile"]["bot_id"] = self.bot_id
        if include_locale:
            obj["locale"] = u["locale"]
        return obj

    def _user_or_refuse(self, user_id: Any, error: str = "user_not_found") -> dict:
        u = self._users.get(user_id) if isinstance(user_id, str) else None
        if u is None:
            raise SlackRefusal(error)
        return u

    def _dnd_state(self, user_id: str) -> dict:
        return self._dnd.get(user_id) or {
            "dnd_enabled": False,
            "next_dnd_start_ts": 1,
            "next_dnd_end_ts": 1,
            "snooze_enabled": False,
            "snooze_endtime": None,
        }

    # ---------------------------------------------------------------- method handlers
    # Each gets the decoded args and returns the response fields besides "ok", or raises SlackRefusal.
    def _m_api_test(self, args: dict) -> dict:
        return {"args": args}

    def _m_auth_test(self, args: dict) -> dict:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Carebot Test",
            "user": "carebot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _bot_message(self, args: dict, ts: str) -> dict:
        msg = {
            "type": "message",
            "subtype": "bot_message",
            "ts": ts,
            "text": args.get("text") or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "blocks": copy.deepcopy(args.get("blocks") or []),
            "attachments": copy.deepcopy(args.get("attachments") or []),
        }
        if args.get("thread_ts"):
            msg["thread_ts"] = args["thread_ts"]
        if args.get("metadata"):
            msg["metadata"] = copy.deepcopy(args["metadata"])
        return msg

    def _m_chat_post_message(self, args: dict) -> dict:
        cid = self._channel_or_refuse(args.get("channel"), for_posting=True)
        self._check_message_payload(args, require_content=True)
        thread_ts = args.get("thread_ts")
        if thread_ts is not None and (not isinstance(thread_ts, str) or not _TS_RE.match(thread_ts)):
            raise SlackRefusal("invalid_thread_ts")
        ts = self._new_ts()
        msg = self._bot_message(args, ts)
        self._messages.setdefault(cid, []).append(msg)
        return {"channel": cid, "ts": ts, "message": copy.deepcopy(msg)}

    def _m_chat_post_ephemeral(self, args: dict) -> dict:
        cid = self._channel_or_refuse(args.get("channel"), for_posting=True)
        u = self._user_or_refuse(args.get("user"), "user_not_in_channel")
        if u["deleted"]:
            raise SlackRefusal("user_not_in_channel")
        self._check_message_payload(args, require_content=True)
        ts = self._new_ts()
        msg = self._bot_message(args, ts)
        msg["channel"], msg["user"] = cid, u["id"]
        msg["subtype"] = "ephemeral"
        self._ephemerals.append(msg)
        return {"message_ts": ts}

    def _m_chat_update(self, args: dict) -> dict:
        cid = self._channel_or_refuse(args.get("channel"))
        msg = self._find_message(cid, args["ts"])
        if msg is None:
            raise SlackRefusal("message_not_found")
        if msg.get("user") != self.bot_user_id:
            raise SlackRefusal("cant_update_message")
        self._check_message_payload(args, require_content=True)
        # Like Slack: blocks/attachments not passed are kept; [] removes them.
        for k in ("text", "blocks", "attachments", "metadata"):
            if args.get(k) is not None:
                msg[k] = copy.deepcopy(args[k])
        msg["edited"] = {"user": self.bot_user_id, "ts": self._new_ts()}
        return {"channel": cid, "ts": msg["ts"], "text": msg["text"], "message": copy.deepcopy(msg)}

    def _m_chat_delete(self, args: dict) -> dict:
        cid = self._channel_or_refuse(args.get("channel"))
        msg = self._find_message(cid, args["ts"])
        if msg is None:
            raise SlackRefusal("message_not_found")
        if msg.get("user") != self.bot_user_id:
            raise SlackRefusal("cant_delete_message")
        self._delete_message(cid, args["ts"])
        return {"channel": cid, "ts": args["ts"]}

    def _m_chat_get_permalink(self, args: dict) -> dict:
        cid = self._channel_or_refuse(args.get("channel"))
        msg = self._find_message(cid, args["message_ts"])
        if msg is None:
            raise SlackRefusal("message_not_found")
        link = f"https://{self.team_domain}.slack.com/archives/{cid}/p{msg['ts'].replace('.', '')}"
        if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            link += f"?thread_ts={msg['thread_ts']}&cid={cid}"
        return {"channel": cid, "permalink": link}

    def _m_conversations_open(self, args: dict) -> dict:
        if args.get("channel"):
            cid = self._channel_or_refuse(args["channel"])
            return {"channel": {"id": cid}}
        users = args.get("users")
        if isinstance(users, list):
            users = ",".join(users)
        if not users:
            raise SlackRefusal("users_list_not_supplied")
        ids = [u.strip() for u in str(users).split(",") if u.strip()]
        if len(ids) > MAX_CONVERSATION_OPEN_USERS:
            raise SlackRefusal("too_many_users")
        for uid in ids:
            self._user_or_refuse(uid)
        if len(ids) == 1:
            cid = self.dm_channel_id(ids[0])
            info: dict = {"id": cid}
            if _truthy(args.get("return_im")):
                info.update({"is_im": True, "user": ids[0], "created": 1700000000, "is_open": True})
            return {"channel": info, "no_op": False, "already_open": False}
        cid = "G" + secrets.token_hex(5).upper()
        key = ",".join(sorted(ids))
        for ch_id, ch in self._channels.items():
            if ch.get("mpim_key") == key:
                cid = ch_id
                break
        else:
            self.add_channel(cid, "mpdm-" + "--".join(ids), is_private=True, members=ids)
            self._channels[cid]["mpim_key"] = key
        return {"channel": {"id": cid}, "no_op": False, "already_open": False}

    def _m_conversations_info(self, args: dict) -> dict:
        cid = self._channel_or_refuse(args.get("channel"))
        if cid.startswith("D"):
            user = next(u for u in ("U" + cid[1:], "W" + cid[1:]) if u in self._users)
            return {
                "channel": {
                    "id": cid,
                    "is_im": True,
                    "is_channel": False,
                    "is_group": False,
                    "is_private": True,
                    "is_archived": False,
                    "user": user,
                    "created": 1700000000,
                }
            }
        ch = self._channels[cid]
        info = {
            "id": cid,
            "name": ch["name"],
            "is_channel": not ch["is_private"],
            "is_group": ch["is_private"],
            "is_im": False,
            "is_mpim": "mpim_key" in ch,
            "is_private": ch["is_private"],
            "is_archived": ch["is_archived"],
            "created": 1700000000,
            "is_member": True,
            "name_normalized": ch["name"],
        }
        if _truthy(args.get("include_num_members")):
            info["num_members"] = len(ch["members"])
        return {"channel": info}

    def _m_conversations_history(self, args: dict) -> dict:
        """Newest first; ``oldest``/``latest`` bounds; message ``metadata`` only with include_all_metadata."""
        cid = self._channel_or_refuse(args.get("channel"))
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or 9e12)
        limit = int(args.get("limit") or 100)
        found = [m for m in self._messages.get(cid, []) if oldest < float(m["ts"]) <= latest]
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        out = []
        for m in found[:limit]:
            m = copy.deepcopy(m)
            if not _truthy(args.get("include_all_metadata")):
                m.pop("metadata", None)
            out.append(m)
        return {"messages": out, "has_more": len(found) > limit}

    def _m_views_open(self, args: dict) -> dict:
        view = self._check_view_or_refuse(args.get("view"), ("modal",))
        self._consume_trigger(args)
        return {"view": self._store_view(view)}

    def _m_views_push(self, args: dict) -> dict:
        view = self._check_view_or_refuse(args.get("view"), ("modal",))
        self._consume_trigger(args)
        return {"view": self._store_view(view)}

    def _m_views_update(self, args: dict) -> dict:
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if not view_id and not external_id:
            raise SlackRefusal("invalid_arguments", ["[ERROR] either view_id or external_id is required"])
        view = self._check_view_or_refuse(args.get("view"), ("modal", "home"))
        current = self._find_view(view_id, external_id)
        if current is None:
            raise SlackRefusal("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackRefusal("hash_conflict")
        if view.get("external_id") is None and current["external_id"]:
            view = {**view, "external_id": current["external_id"]}
        return {
            "view": self._store_view(
                view,
                view_id=current["id"],
                root_view_id=current["root_view_id"],
                previous_view_id=current["previous_view_id"],
            )
        }

    def _m_views_publish(self, args: dict) -> dict:
        user = self._user_or_refuse(args.get("user_id"))
        view = self._check_view_or_refuse(args.get("view"), ("home",))
        vid = self._home_views.get(user["id"])
        if vid and args.get("hash") and args["hash"] != self._views[vid]["hash"]:
            raise SlackRefusal("hash_conflict")
        stored = self._store_view(view, view_id=vid)
        self._home_views[user["id"]] = stored["id"]
        return {"view": stored}

    def _m_users_info(self, args: dict) -> dict:
        u = self._user_or_refuse(args.get("user"))
        return {"user": self._user_object(u, _truthy(args.get("include_locale")))}

    def _m_users_list(self, args: dict) -> dict:
        loc = _truthy(args.get("include_locale"))
        return {
            "members": [self._user_object(u, loc) for u in self._users.values()],
            "response_metadata": {"next_cursor": ""},
        }

    def _m_users_lookup_by_email(self, args: dict) -> dict:
        for u in self._users.values():
            if u["email"] and u["email"].lower() == str(args["email"]).lower():
                return {"user": self._user_object(u, False)}
        raise SlackRefusal("users_not_found")

    def _m_usergroups_users_list(self, args: dict) -> dict:
        g = self._usergroups.get(args["usergroup"])
        if g is None:
            raise SlackRefusal("no_such_subteam")
        if g["disabled"] and not _truthy(args.get("include_disabled")):
            raise SlackRefusal("no_such_subteam")
        return {"users": list(g["users"])}

    def _m_usergroups_list(self, args: dict) -> dict:
        out = []
        for g in self._usergroups.values():
            if g["disabled"] and not _truthy(args.get("include_disabled")):
                continue
            item = {
                "id": g["id"],
                "team_id": self.team_id,
                "is_usergroup": True,
                "name": g["name"],
                "handle": g["handle"],
                "description": "",
                "date_delete": 1 if g["disabled"] else 0,
                "user_count": len(g["users"]),
            }
            if _truthy(args.get("include_users")):
                item["users"] = list(g["users"])
            if _truthy(args.get("include_count")):
                item["user_count"] = len(g["users"])
            out.append(item)
        return {"usergroups": out}

    def _m_dnd_info(self, args: dict) -> dict:
        uid = args.get("user") or self.bot_user_id
        self._user_or_refuse(uid)
        d = self._dnd_state(uid)
        out = {
            "dnd_enabled": d["dnd_enabled"],
            "next_dnd_start_ts": d["next_dnd_start_ts"],
            "next_dnd_end_ts": d["next_dnd_end_ts"],
            "snooze_enabled": d["snooze_enabled"],
        }
        if d["snooze_enabled"]:
            end = d["snooze_endtime"] or int(time.time()) + 3600
            out["snooze_endtime"] = end
            out["snooze_remaining"] = max(0, end - int(time.time()))
        return out

    def _m_files_get_upload_url_external(self, args: dict) -> dict:
        filename = args.get("filename")
        try:
            length = int(args.get("length"))
        except (TypeError, ValueError):
            raise SlackRefusal("invalid_arguments", ["[ERROR] length must be an integer"]) from None
        if not isinstance(filename, str) or not filename.strip():
            raise SlackRefusal("invalid_arguments", ["[ERROR] filename must be a non-empty string"])
        if length <= 0 or length > MAX_UPLOAD_BYTES:
            raise SlackRefusal("invalid_arguments", [f"[ERROR] length must be from 1 to {MAX_UPLOAD_BYTES}"])
        self._upload_counter += 1
        file_id = f"F{self._upload_counter:08d}"
        self._uploads[file_id] = {"id": file_id, "filename": filename, "length": length, "content": None,
                                  "completed": False, "alt_txt": args.get("alt_txt")}
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _m_files_complete_upload_external(self, args: dict) -> dict:
        raw = args.get("files")
        try:
            files = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            raise SlackRefusal("invalid_arguments", [_err("unable to parse JSON", "/files")]) from None
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
            raise SlackRefusal("invalid_arguments", ["[ERROR] files must be a non-empty array of {id, title}"])
        channel = None
        if args.get("channel_id"):
            channel = self._channel_or_refuse(args.get("channel_id"), for_posting=True)
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None and (channel is None or self._find_message(channel, thread_ts) is None):
            raise SlackRefusal("invalid_thread_ts")
        done = []
        for f in files:
            upload = self._uploads.get(f["id"])
            if upload is None or upload["completed"]:
                raise SlackRefusal("file_not_found")
            if upload["content"] is None:
                raise SlackRefusal("file_upload_incomplete")  # nothing (or not the announced bytes) was POSTed
            done.append((upload, f.get("title") or upload["filename"]))
        shared = []
        for upload, title in done:
            upload.update(completed=True, title=title, channel=channel, thread_ts=thread_ts,
                          initial_comment=args.get("initial_comment"))
            shared.append({"id": upload["id"], "name": upload["filename"], "title": title, "size": upload["length"]})
        return {"files": shared}

    def _m_files_info(self, args: dict) -> dict:
        """A file's object; `channels`/`groups`/`ims` list where a completed upload was shared (none before)."""
        upload = self._uploads.get(args.get("file"))
        if upload is None:
            raise SlackRefusal("file_not_found")
        shared = [upload["channel"]] if upload["completed"] and upload.get("channel") else []
        out = {"id": upload["id"], "name": upload["filename"], "title": upload.get("title") or upload["filename"],
               "size": upload["length"], "channels": [c for c in shared if c.startswith("C")],
               "groups": [c for c in shared if c.startswith("G")], "ims": [c for c in shared if c.startswith("D")]}
        return {"file": out}

    def _m_dnd_team_info(self, args: dict) -> dict:
        ids = [u.strip() for u in str(args["users"]).split(",") if u.strip()]
        users = {}
        for uid in ids:
            if uid in self._users:
                d = self._dnd_state(uid)
                users[uid] = {
                    "dnd_enabled": d["dnd_enabled"],
                    "next_dnd_start_ts": d["next_dnd_start_ts"],
                    "next_dnd_end_ts": d["next_dnd_end_ts"],
                }
        return {"users": users}
