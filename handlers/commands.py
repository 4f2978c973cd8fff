"""/care and its subcommands."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import offload
from bot.logs import REQUEST_ID
from bot.services.calls import find_customer
from bot.services.people import Actor, add_staff, parse_role, parse_user_id, require_admin
from bot.services.queue import my_queue, parse_segment
from handlers import inputs
from handlers.complaints import complaint_command, complaints_command
from handlers.customers import CUSTOMER_ADD_WORDS, customer_command
from handlers.deps import Deps, actor_of, responder_of
from handlers.errors import Later, guarded, nowhere_to_respond, reported, saved
from handlers.ids import Command
from handlers.plan_commands import plan_command, rules_command
from handlers.stats import stats_command
from handlers.views_common import PAGE_SIZE, log_call_view, queue_page
from messages.render import mention


def subcommands(deps: Deps) -> dict[str, Callable[..., Any]]:
    """/care's subcommands by name, each fn(actor=, rest=, respond=, command=, client=): run after the ack, in
    the serving process or in a worker process (bot/offload.py); "" is `due`, an unknown name `help`."""
    renderer, svc = deps.renderer, deps.services

    def due(actor, rest, respond, **_):
        segment = parse_segment(rest)
        page = queue_page(renderer, actor.locale, my_queue(svc, actor, segment, limit=PAGE_SIZE), segment=segment)
        respond(**page.as_kwargs(), response_type="ephemeral")

    def log(actor, rest, command, client, **_):
        target = find_customer(svc, actor, rest) if rest else None
        client.views_open(trigger_id=command["trigger_id"],
                          view=log_call_view(renderer, actor.locale, target, command.get("channel_id")))

    def help_(actor, rest, respond, unknown=None, **_):
        respond(**renderer.message("help.json.j2", actor.locale, unknown=unknown).as_kwargs(),
                response_type="ephemeral")

    def staff(actor, rest, respond, **_):
        require_admin(actor)
        words = rest.split()
        if len(words) != 3 or words[0].lower() != "add":
            return help_(actor, rest, respond)
        user_id, role = parse_user_id(words[1]), parse_role(words[2])
        created = add_staff(svc, user_id, role, team_id=actor.team_id)
        saved()
        respond(**renderer.message("notice.json.j2", actor.locale, key="staff.added" if created else "staff.updated",
                                   params={"mention": mention(user_id), "role": role.value}).as_kwargs())

    return {"due": due, "": due, "log": log, "help": help_, "staff": staff,
            "complaint": partial(complaint_command, deps), "complaints": partial(complaints_command, deps),
            "rules": partial(rules_command, deps), "plan": partial(plan_command, deps),
            "stats": partial(stats_command, deps),
            "customer": partial(customer_command, deps)}  # issue 9: the customer card


def opens_form(name: str, rest: str) -> bool:
    """Whether `/care name rest` opens a modal (views.open with the command's trigger_id, valid 3 s)."""
    return name in ("log", "complaint") or (name == "customer" and rest.lower() in CUSTOMER_ADD_WORDS)


def run_subcommand(table: dict[str, Callable[..., Any]], actor: Actor, name: str, rest: str, respond: Any,
                   command: dict[str, Any], client: WebClient) -> None:
    handler = table.get(name)
    if handler is None:
        table["help"](actor=actor, rest=rest, respond=respond, unknown=inputs.echo(name))
        return
    handler(actor=actor, rest=rest, respond=respond, command=command, client=client)


@offload.job("care")
def run_care(deps: Deps, client: WebClient, actor: Actor, name: str, rest: str, command: dict[str, Any]) -> None:
    """A /care subcommand in a worker process (bot/offload.py): answered through the command's response_url;
    an error reaches the person through the one error path, quoting the request id."""
    respond = responder_of(command, client) or nowhere_to_respond
    context = BoltContext(verified=True, locale=actor.locale, user_id=actor.user_id,
                          request_id=REQUEST_ID.get(), actor=actor)
    with reported(deps, command, context, respond, client):
        run_subcommand(subcommands(deps), actor, name, rest, respond, command, client)


def register(app: App, deps: Deps) -> None:
    guard = guarded(deps)
    table = subcommands(deps)

    @app.command(Command.CARE.value)
    @guard
    def care(ack, command, respond, client, context, **_):
        """Acked empty at once; the subcommand answers through response_url after the ack, queued for an
        after-ack slot (handlers/errors.py `Later`), so a page being built never delays the next request's ack."""
        actor = actor_of(context)  # without a usable response_url `respond` answers in the channel or by DM
        name, rest = inputs.command_text(command)
        if opens_form(name, rest):  # Slack allows the form 3 s from the command: never queued behind pages
            ack.quietly()
            run_subcommand(table, actor, name, rest, respond, command, client)
            return None
        return Later(lambda: run_subcommand(table, actor, name, rest, respond, command, client),
                     offload=("care", {"actor": actor, "name": name, "rest": rest, "command": dict(command)}))
