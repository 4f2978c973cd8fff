"""manifest.yml declares everything the code registers, and asks for exactly the scopes it uses."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from handlers import ids

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
CODE_DIRS = ("bot", "handlers")

# Web API method -> the bot scope Slack requires for it (None: no scope needed)
SCOPE_OF = {
    "chat_postMessage": "chat:write", "chat_postEphemeral": "chat:write", "chat_update": "chat:write",
    "chat_delete": "chat:write", "chat_getPermalink": None, "users_info": "users:read",
    "usergroups_users_list": "usergroups:read", "usergroups_list": "usergroups:read", "dnd_info": "dnd:read",
    "conversations_open": "im:write", "views_open": None, "views_push": None, "views_update": None,
    "views_publish": None, "auth_test": None,
    "files_upload_v2": "files:write",  # the reports' charts: files.getUploadURLExternal + completeUploadExternal
    "files_getUploadURLExternal": "files:write", "files_completeUploadExternal": "files:write",  # the outbox's steps
    "files_info": "files:read",  # the outbox looks whether charts whose completion's answer was lost are shared
    # the outbox looks for a post whose answer was lost, in public and private channels and DMs
    "conversations_history": ("channels:history", "groups:history", "im:history"),
}


def registrations() -> list[tuple[str, str]]:
    """(kind, id) for every @app.<kind>(...) decorator in handlers/, resolving ids enums."""
    found = []
    for path in (ROOT / "handlers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "app" and node.args:
                found.append((node.func.attr, _resolve(node.args[0], path)))
    return found


def _resolve(arg: ast.expr, path: Path) -> str:
    # ids.Enum.MEMBER.value
    assert isinstance(arg, ast.Attribute) and arg.attr == "value", \
        f"{path.name}: register listeners with ids from handlers/ids.py, not literals"
    member = arg.value
    assert isinstance(member, ast.Attribute) and isinstance(member.value, ast.Name)
    return getattr(getattr(ids, member.value.id), member.attr).value


def test_every_registered_command_shortcut_and_event_is_declared():
    registered = registrations()
    assert ("command", "/care") in registered
    commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    shortcuts = {s["callback_id"] for s in MANIFEST["features"].get("shortcuts", [])}
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    for kind, name in registered:
        if kind == "command":
            assert name in commands, f"/care-style command {name} is not in manifest.yml"
        elif kind in ("shortcut", "message_shortcut", "global_shortcut"):
            assert name in shortcuts, f"shortcut {name} is not in manifest.yml"
        elif kind == "event":
            assert name in events, f"event {name} is not subscribed in manifest.yml"
    kinds = {kind for kind, _ in registered}
    if kinds & {"action", "view", "options", "shortcut"}:
        assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    if "options" in kinds:
        assert MANIFEST["settings"]["interactivity"]["message_menu_options_url"]


def test_scopes_are_exactly_what_the_code_calls():
    called = set()
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            called |= set(re.findall(r"client\.([a-z]+_[A-Za-z0-9_]+)\(", path.read_text(encoding="utf-8")))
    unknown = called - SCOPE_OF.keys()
    assert not unknown, f"add these Web API methods to SCOPE_OF: {unknown}"
    needed = set()
    for method in called:
        scope = SCOPE_OF[method]
        needed |= set(scope) if isinstance(scope, tuple) else ({scope} if scope else set())
    if any(kind == "command" for kind, _ in registrations()):
        needed.add("commands")
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_usage_hint_names_the_subcommands_the_help_lists():
    [care] = [c for c in MANIFEST["features"]["slash_commands"] if c["command"] == "/care"]
    for word in ("due", "log", "help"):
        assert word in care["usage_hint"]
