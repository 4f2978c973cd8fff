"""What /metrics exposes (prometheus-client), one registry per process.

Counters are incremented where things happen; the outbox gauges are read from the database at scrape
time (they are the same on every replica)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()

REQUESTS = Counter("carebot_requests", "Slack requests served, by kind (command, block_actions, "
                   "view_submission, block_suggestion, event, …) and outcome (ok, refused, error).",
                   ["kind", "outcome"], registry=REGISTRY)
ACK_SECONDS = Histogram("carebot_ack_seconds", "Time from a Slack request arriving to its HTTP answer "
                        "(Slack gives up after 3 s).", ["kind"], registry=REGISTRY,
                        buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0))
LISTENER_ERRORS = Counter("carebot_listener_errors", "Errors a person was told about, by kind "
                          "(care: a rule said no; database: busy or away; slack: a form opened after Slack's 3 s; "
                          "internal: a bug, logged with the request id).", ["kind"],
                          registry=REGISTRY)
JOBS = Counter("carebot_jobs", "Scheduled job runs by job and outcome (ok, failed, late).", ["job", "outcome"],
               registry=REGISTRY)
SLACK_CALLS = Counter("carebot_slack_api_calls", "Slack Web API calls by method and error (ok when none).",
                      ["method", "error"], registry=REGISTRY)
SLACK_LATENCY = Histogram("carebot_slack_api_seconds", "Slack Web API call time, retries included.", ["method"],
                          registry=REGISTRY)
OUTBOX_DEPTH = Gauge("carebot_outbox_depth", "Outbox messages not sent, by status (pending: every one still to "
                     "deliver, unknown among them; failed; refused).", ["status"],
                     registry=REGISTRY)
OUTBOX_OLDEST = Gauge("carebot_outbox_oldest_age_seconds", "Age of the oldest message still to deliver.",
                      registry=REGISTRY)
OUTBOX_SENT = Counter("carebot_outbox_delivered", "Outbox messages delivered, by kind.", ["kind"],
                      registry=REGISTRY)
ESCALATIONS = Counter("carebot_escalations", "Escalation notices delivered, by level (owner, supervisors, "
                      "manager).", ["level"], registry=REGISTRY)
MORNING_LISTS = Counter("carebot_morning_lists_posted", "Morning lists delivered.", registry=REGISTRY)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
