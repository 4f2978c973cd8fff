"""Complaints in Slack: `/care complaint [customer]`, the "Open complaint from this message" shortcut,
`/care complaints` with its row buttons, the resolution modal, and the buttons of the escalation post."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.care.sla_rules import KINDS, SEVERITIES
from bot.services import escalations
from bot.services.calls import CallTarget, find_customer
from bot.services.complaints import (
    CATEGORIES,
    ComplaintForm,
    complaint_for,
    customer_replied,
    list_complaints,
    open_complaint,
    record_first_response,
    resolve_complaint,
    wait_on_customer,
)
from bot.services.errors import CareError, FormErrors
from bot.services.outbox import Outgoing, confirm_after
from bot.services.people import Actor, locale_of
from bot.slack_client import ReplyLost, Responder
from handlers import inputs
from handlers.delivery import click_key, post_key, view_key
from handlers.deps import (
    PROFILE_WAIT,
    Deps,
    actor_of,
    channel_of,
    confirm_where_they_were,
    confirm_with,
    deliver_confirmations,
    modal_errors,
    posting_url,
    slack_profile,
)
from handlers.errors import guarded, saved
from handlers.home import publish_home, publish_home_of, refresh_homes
from handlers.ids import Action, ComplaintField, Shortcut, ViewId
from handlers.unavailable import SAVE_WAIT, inline
from messages.render import Message, Renderer, mention, translate
from storage.db import waiting_at_most

log = logging.getLogger(__name__)
LIST_SIZE = 15  # rows per /care complaints: 2 blocks each, inside Slack's 50


# --- rendering ------------------------------------------------------------------------------------


def complaint_view(renderer: Renderer, locale: str, target: CallTarget | None, channel_id: str | None,
                   description: str = "", link: str | None = None) -> dict:
    metadata = json.dumps({"cu": target.customer_id if target else None, "ch": channel_id, "link": link})
    return renderer.view("complaint_modal.json.j2", locale, target=target, metadata=metadata, description=description,
                         link=link, kinds=KINDS, categories=CATEGORIES, severities=SEVERITIES)


def complaints_page(renderer: Renderer, deps: Deps, actor: Actor) -> Message:
    listing = list_complaints(deps.services, actor)
    rows = listing.rows[:LIST_SIZE]
    return renderer.message("complaints_list.json.j2", actor.locale, listing=listing, rows=rows,
                            more=max(0, len(listing.rows) - LIST_SIZE))


def resolve_view(renderer: Renderer, deps: Deps, actor: Actor, complaint_id: int, **where: Any) -> dict:
    row = complaint_for(deps.services, actor, complaint_id, checked=bool(where.get("esc")), open_only=True)
    return renderer.view("complaint_resolve_modal.json.j2", actor.locale, row=row,
                         metadata=json.dumps({"co": row.id, **where}))


# --- /care complaint, /care complaints (called from handlers/commands.py) ----------------------------


def complaint_command(deps: Deps, actor: Actor, rest: str, command: dict, client: WebClient, **_: Any) -> None:
    target = find_customer(deps.services, actor, rest) if rest else None
    client.views_open(trigger_id=command["trigger_id"],
                      view=complaint_view(deps.renderer, actor.locale, target, command.get("channel_id")))


def complaints_command(deps: Deps, actor: Actor, rest: str, respond: Callable, **_: Any) -> None:
    if rest:  # `/care complaints all|mine|…`: it lists what it always lists; a word it would ignore is refused
        raise CareError("complaint.errors.list_takes_no_words", words=inputs.echo(rest))
    respond(**complaints_page(deps.renderer, deps, actor).as_kwargs(), response_type="ephemeral")


# --- reading modals -----------------------------------------------------------------------------------


def read_complaint_form(view: dict[str, Any]) -> ComplaintForm:
    """The complaint modal through the one parser (handlers/inputs.py); malformed values are FormErrors."""
    values, meta, fields = inputs.state_values(view), inputs.metadata(view), inputs.Fields()
    customer = inputs.chosen(values, ComplaintField.CUSTOMER.value, Action.CUSTOMER_SELECT.value)
    customer_id = fields.read(_customer_id, meta.get("cu") if customer is None else customer)
    description = fields.read(inputs.typed, values, ComplaintField.DESCRIPTION.value) or ""
    link = meta.get("link")
    fields.check()
    return ComplaintForm(
        customer_id=customer_id, kind=inputs.chosen(values, ComplaintField.KIND.value),
        category=inputs.chosen(values, ComplaintField.CATEGORY.value),
        severity=inputs.chosen(values, ComplaintField.SEVERITY.value), description=description,
        source_link=link if isinstance(link, str) and link.startswith("https://") and len(link) < 500 else None)


def _customer_id(value: Any) -> int | None:
    try:
        return inputs.optional_id(value)
    except inputs.NotUnderstood:
        raise FormErrors({ComplaintField.CUSTOMER.value: ("form.errors.customer_unknown", {})}) from None


def _group_members(client: WebClient) -> Callable[[str], Collection[str]]:
    return lambda group_id: client.usergroups_users_list(usergroup=group_id)["users"]


_message_of = inputs.where
_complaint_id = inputs.record_id


def _block_complaint(action: dict) -> int:
    """The complaint an escalation post's block is about ("esc:<complaint>:<notice>", as escalation_post.json.j2
    has written every post's blocks); NotUnderstood for a block that is not a post's."""
    block = action.get("block_id")
    parts = block.split(":") if isinstance(block, str) else []
    if len(parts) < 3 or parts[0] != "esc" or str(complaint_id := _complaint_id(parts[1])) != parts[1]:
        raise inputs.NotUnderstood()  # only the id as we write it: esc:05:1 is no post's block
    return complaint_id


def _post_complaint(action: dict) -> int:
    """The complaint an escalation post's button acts on: its value, which must be the complaint of its block
    (`_block_complaint`); a value that names another one is NotUnderstood (a crafted payload must not act on a
    complaint that was never on this post)."""
    complaint_id = _complaint_id(action.get("value"))
    if _block_complaint(action) != complaint_id:
        raise inputs.NotUnderstood()
    return complaint_id


def register(app: App, deps: Deps) -> None:
    renderer, svc = deps.renderer, deps.services
    guard = guarded(deps)
    form_guard = guarded(deps, opens_form=True)  # views.open within the click's 3 s


    # --- opening -------------------------------------------------------------------------------------

    @app.shortcut(Shortcut.OPEN_COMPLAINT.value)
    @form_guard
    def from_message(ack, body, client, context, **_):
        ack()
        actor = actor_of(context)
        channel, ts = inputs.where({"channel": body.get("channel"), "message": body.get("message")})
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        text = inputs.slack_text(message.get("text"))  # `&gt;` as the person wrote it, `>` (Slack escapes it)
        link = None
        if channel and ts:
            try:
                link = client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
            except Exception:  # noqa: BLE001 - the complaint matters more than the link
                log.warning("no permalink for %s/%s", channel, ts, exc_info=True)
        client.views_open(trigger_id=body["trigger_id"],
                          view=complaint_view(renderer, actor.locale, None, channel, text, link))

    @app.view(ViewId.COMPLAINT.value)
    @guard
    def submit_complaint(ack, view, client, context, **_):
        actor = actor_of(context)
        try:
            form = read_complaint_form(view)
            with waiting_at_most(SAVE_WAIT):
                where = inputs.channel_id(inputs.metadata(view).get("ch"))
                confirm = confirm_with(actor.team_id, view_key(view), lambda opened: confirm_where_they_were(
                    actor.user_id, where, renderer.message("complaint_opened.json.j2", actor.locale, opened=opened)),
                    svc.outbox_policy)
                open_complaint(svc, actor, form, once=view_key(view), then=confirm)
        except FormErrors as exc:
            return ack(response_action="errors",
                       errors=modal_errors(actor.locale, view, exc.errors, ComplaintField.DESCRIPTION.value))
        except SQLAlchemyError as exc:
            return ack(**inline(actor.locale, ComplaintField.DESCRIPTION.value, exc))
        ack()
        saved()
        deliver_confirmations(deps, client, confirm)
        publish_home(deps, client, actor)  # issue 13: the new complaint is in my queue

    # --- the rows of /care complaints ------------------------------------------------------------------

    def row_action(operation):
        def listener(ack, body, action, respond, context, **_):
            ack()
            actor = actor_of(context)
            inputs.response_url(body)  # the list is answered in place: a row button always has one
            operation(svc, actor, _complaint_id(action.get("value")), once=click_key(body, action))
            saved()
            respond(**complaints_page(renderer, deps, actor).as_kwargs(), response_type="ephemeral",
                    replace_original=True)

        listener.__name__ = operation.__name__
        return guard(listener)

    app.action(Action.COMPLAINT_FIRST_RESPONSE.value)(row_action(record_first_response))
    app.action(Action.COMPLAINT_WAIT.value)(row_action(wait_on_customer))
    app.action(Action.COMPLAINT_RESUME.value)(row_action(customer_replied))

    @app.action(Action.COMPLAINT_RESOLVE.value)
    @form_guard
    def open_resolve(ack, body, action, client, context, **_):
        ack()
        actor = actor_of(context)
        view = resolve_view(renderer, deps, actor, _complaint_id(action.get("value")),
                            rurl=body.get("response_url"), ch=channel_of(body))
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(ViewId.COMPLAINT_RESOLVE.value)
    @guard
    def submit_resolution(ack, view, client, context, **_):
        actor = actor_of(context)
        meta = inputs.metadata(view)
        complaint_id = _complaint_id(meta.get("co"))
        try:
            text = inputs.typed(inputs.state_values(view), ComplaintField.RESOLUTION.value)
            with waiting_at_most(SAVE_WAIT):
                if meta.get("esc"):
                    post = (inputs.channel_id(meta.get("ch")), meta.get("ts") if isinstance(meta.get("ts"), str)
                            else None)
                    created = escalations.resolve(svc, actor, complaint_id, text, _group_members(client),
                                                  once=view_key(view), post=post)
                else:
                    created = resolve_complaint(svc, actor, complaint_id, text, once=view_key(view))
        except SQLAlchemyError as exc:
            return ack(**inline(actor.locale, ComplaintField.RESOLUTION.value, exc))
        except FormErrors as exc:
            return ack(response_action="errors",
                       errors=modal_errors(actor.locale, view, exc.errors, ComplaintField.RESOLUTION.value))
        except CareError as exc:
            return ack(response_action="errors",
                       errors={ComplaintField.RESOLUTION.value: str(translate(actor.locale, exc.key, **exc.params))})
        ack()
        saved()
        row = complaint_for(svc, actor, complaint_id, checked=bool(meta.get("esc")))
        done = renderer.message("notice.json.j2", actor.locale, key="complaint.resolved",
                                params={"ticket": translate(actor.locale, f"ticket.{row.kind}"), "id": row.id,
                                        "callbacks": len(created)})
        # after the follow-up is planned (its count is in the text); the post's update was queued with the change
        confirm_after(svc, actor.team_id, view_key(view), Outgoing("confirmation", actor.user_id, done.as_kwargs()))
        deliver_confirmations(deps, client)
        publish_home(deps, client, actor)  # issue 13: resolved, it leaves my queue
        if row.owner_id != actor.user_id:
            publish_home_of(deps, client, row.owner_id)  # and the owner's, when someone else resolved it
        rurl = posting_url(meta.get("rurl"), client)
        if not meta.get("esc") and rurl is not None:
            page = complaints_page(renderer, deps, actor)
            try:  # the list the person resolved it from, refreshed in place; they were told by DM already
                Responder(rurl, client.timeout)(**page.as_kwargs(), response_type="ephemeral",
                                                replace_original=True)
            except ReplyLost as lost:
                log.warning("the complaint list of %s was not refreshed: %s", actor.user_id, lost)

    # --- the escalation post -------------------------------------------------------------------------------

    def telling_if_done(listener):
        """A click whose action was done already (bot/services/escalations.AlreadyActed) is answered: by whom,
        when, in the clicker's language; nothing else happens."""
        def told(**kwargs):
            try:
                return listener(**kwargs)
            except escalations.AlreadyActed as done:
                actor = actor_of(kwargs["context"])
                message = renderer.message("escalation_already.json.j2", actor.locale, done=done,
                                           timezone=actor.timezone)
                kwargs["respond"](response_type="ephemeral", replace_original=False, **message.as_kwargs())

        told.__name__ = listener.__name__
        return told

    @app.action(Action.ESCALATION_ACK.value)
    @guard
    @telling_if_done
    def acknowledge(ack, body, action, client, context, **_):
        ack()
        actor = actor_of(context)
        complaint_id = _post_complaint(action)
        escalations.acknowledge(svc, actor, complaint_id, _group_members(client),
                                once=post_key(body, action, complaint_id), post=_message_of(body))
        saved()
        deliver_confirmations(deps, client)
        refresh_homes(deps, client, [actor.user_id, complaint_for(svc, actor, complaint_id, checked=True).owner_id])

    @app.action(Action.ESCALATION_SNOOZE.value)
    @guard
    @telling_if_done
    def snooze(ack, body, action, client, context, **_):
        ack()
        actor = actor_of(context)
        complaint_id = _post_complaint(action)
        escalations.snooze(svc, actor, complaint_id, _group_members(client), once=post_key(body, action, complaint_id),
                           post=_message_of(body))
        saved()
        deliver_confirmations(deps, client)
        refresh_homes(deps, client, [actor.user_id, complaint_for(svc, actor, complaint_id, checked=True).owner_id])

    @app.action(Action.ESCALATION_REASSIGN.value)
    @guard
    @telling_if_done
    def reassign(ack, body, action, client, context, **_):
        ack()
        actor = actor_of(context)
        complaint_id = _block_complaint(action)  # a users_select has no value: its block says which complaint
        new_owner = inputs.user_id(action.get("selected_user"))
        to = locale_of(svc, new_owner, None,  # their language; a slow Slack: one short try, as before an ack
                       lambda user_id: slack_profile(client, user_id, PROFILE_WAIT))

        def note(complaint, customer_name: str) -> dict:  # the new owner's DM, queued with the change
            return renderer.message("notice.json.j2", to, key="escalation.assigned_to_you", params={
                "who": mention(actor.user_id), "ticket": translate(to, f"ticket.{complaint.kind}"), "id": complaint.id,
                "name": customer_name}).as_kwargs()

        old_owner = escalations.reassign(svc, actor, complaint_id, new_owner, _group_members(client),
                                         once=click_key(body, action), post=_message_of(body), note=note)
        saved()
        deliver_confirmations(deps, client)
        refresh_homes(deps, client, [actor.user_id, old_owner, new_owner])  # it left one queue for another

    @app.action(Action.ESCALATION_RESOLVE.value)
    @form_guard
    def resolve_from_post(ack, body, action, client, context, **_):
        ack()
        actor = actor_of(context)
        if not escalations.may_act(svc, actor, _group_members(client)):
            raise CareError("escalation.errors.supervisors_only")
        channel, ts = _message_of(body)
        view = resolve_view(renderer, deps, actor, _post_complaint(action), esc=True, ch=channel, ts=ts)
        client.views_open(trigger_id=body["trigger_id"], view=view)
