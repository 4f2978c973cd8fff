"""The least a log-call submission must do, hand-written: the floor the bot's log-call rate is read against
(issue 14). A bare Bolt app whose listener, for each submission:

- saves it in one raw-SQL transaction: the delivery's key (once per modal), the call log, the callback closed,
  the confirmation queued in the outbox (the free texts and the confirmation sealed as the bot seals them);
- acks (the modal closes);
- posts the confirmation (`chat.postEphemeral`) and marks it sent;
- reads the agent's open callbacks (how many, and the first 20 with their customers) and publishes an App Home
  of them (`views.publish`).

What it leaves out, and the bot does: the user's staff and team lookup, the form's checks, scope, the outcome
rules and the next callback, the care plan of the customer, a low rating's follow-up, encrypted names, templates
in the person's language, validated payloads, the Home's week figures, the outbox's lease and retry bookkeeping.
Everything runs in the serving process (the bot builds the Home in a worker process, on the other core)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import bindparam, text


def _types():
    from storage.models import CallLog
    from storage.outbox_models import OutboxMessage

    return CallLog.__table__.c.summary.type, CallLog.__table__.c.feedback.type, OutboxMessage.__table__.c.payload.type


_SUMMARY, _FEEDBACK, _PAYLOAD = _types()  # sealed at rest as the bot stores them (issue 9): part of the floor


def floor_app(secret: str, api_url: str, url: str):
    from slack_bolt import App
    from slack_sdk import WebClient

    from bench.book import NOW
    from storage.db import make_engine

    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"

    def _stored(moment: dt.datetime) -> dt.datetime:  # as storage.models.UTCDateTime stores a moment
        moment = moment.astimezone(dt.UTC)
        return moment.replace(tzinfo=None) if sqlite else moment

    client = WebClient(token="xoxb-bench", base_url=api_url)
    app = App(client=client, signing_secret=secret)

    @app.view("log_call_modal")
    def submitted(ack, body, view):
        user, meta = body["user"]["id"], json.loads(view["private_metadata"])
        values = {block: next(iter(actions.values())) for block, actions in view["state"]["values"].items()}
        outcome = (values.get("outcome", {}).get("selected_option") or {}).get("value", "satisfied")
        summary = values.get("summary", {}).get("value") or ""
        now = _stored(NOW)
        key = f"log_call:{view['id']}:{view.get('hash', '')}"
        with engine.begin() as db:
            first = db.execute(text(
                "INSERT INTO inbound_delivery (key, kind, user_id, result, created_at) VALUES (:k, 'log_call', :u, "
                "'{}', :n) ON CONFLICT (key) DO NOTHING RETURNING id"), {"k": key, "u": user, "n": now}).first()
            if first is None:
                return ack()
            db.execute(text(
                "INSERT INTO call_log (team_id, customer_id, callback_id, staff_id, channel, outcome, summary, "
                "feedback, called_at) SELECT team_id, customer_id, id, :u, 'phone', :o, :s, :f, :n FROM callback "
                "WHERE id = :cb").bindparams(bindparam("s", type_=_SUMMARY), bindparam("f", type_=_FEEDBACK)),
                {"u": user, "o": outcome, "s": summary, "f": "", "n": now, "cb": meta["cb"]})
            db.execute(text("UPDATE callback SET status = 'done', attempts = attempts + 1, closed_at = :n "
                            "WHERE id = :cb AND status = 'open'"), {"n": now, "cb": meta["cb"]})
            message = db.execute(text(
                "INSERT INTO outbox_message (key, team_id, kind, channel, payload, effect, status, attempts, "
                "next_attempt_at, lease_until, created_at) SELECT :k, team_id, 'ephemeral', :ch, :p, '{}', "
                "'sending', 1, :n, :l, :n FROM callback WHERE id = :cb RETURNING id").bindparams(
                    bindparam("p", type_=_PAYLOAD)),
                {"k": f"confirm:{key}", "ch": meta.get("ch") or user, "n": now, "l": now + dt.timedelta(minutes=2),
                 "cb": meta["cb"], "p": {"text": "Call logged."}}).scalar_one()
        ack()
        client.chat_postEphemeral(channel=meta.get("ch") or user, user=user, text="Call logged.")
        with engine.begin() as db:
            db.execute(text("UPDATE outbox_message SET status = 'sent', sent_at = :n, lease_until = NULL "
                            "WHERE id = :id"), {"n": now, "id": message})
        with engine.connect() as db:
            count = db.execute(text("SELECT count(*) FROM callback WHERE owner_id = :u AND status = 'open' "
                                    "AND due_at < :d"), {"u": user, "d": now + dt.timedelta(days=1)}).scalar_one()
            rows = db.execute(text(
                "SELECT cb.id, cb.kind, cb.due_at, c.code FROM callback cb JOIN customer c ON c.id = cb.customer_id "
                "WHERE cb.owner_id = :u AND cb.status = 'open' AND cb.due_at < :d ORDER BY cb.due_at, cb.id LIMIT 20"),
                {"u": user, "d": now + dt.timedelta(days=1)}).all()  # the callbacks due by tomorrow
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": f"My queue ({count})"}}]
        for cb_id, kind, due_at, code in rows:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{code}* {kind} · {due_at}"},
                           "accessory": {"type": "button", "action_id": "log_call", "value": str(cb_id),
                                         "text": {"type": "plain_text", "text": "Log call"}}})
        client.views_publish(user_id=user, view={"type": "home", "blocks": blocks})

    return app
