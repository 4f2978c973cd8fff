"""Checks on a logged call, as a care team expects them (pure: the caller passes `today`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.care.outcomes import Channel, Outcome, is_reached

RATINGS = range(1, 6)
NPS_SCORES = range(0, 11)  # issue 13: "would you recommend us", 0-10


@dataclass(frozen=True)
class CallForm:
    customer_id: int | None
    callback_id: int | None
    channel: str | None
    outcome: str | None
    rating: int | None
    summary: str
    feedback: str
    next_on: dt.date | None
    nps: int | None = None  # optional 0-10


# field -> (catalog key, params); the handler maps fields onto modal block ids
FieldErrors = dict[str, tuple[str, dict[str, str]]]


def check_call(form: CallForm, today: dt.date, max_summary: int = 3000) -> FieldErrors:
    errors: FieldErrors = {}
    if form.customer_id is None:
        errors["customer"] = ("form.errors.customer_missing", {})
    if form.channel not in {c.value for c in Channel}:
        errors["channel"] = ("form.errors.channel_missing", {})
    if form.outcome not in {o.value for o in Outcome}:
        errors["outcome"] = ("form.errors.outcome_missing", {})
    elif is_reached(Outcome(form.outcome)) and form.rating is None:
        errors["rating"] = ("form.errors.rating_missing", {})
    if form.rating is not None and form.rating not in RATINGS:
        errors["rating"] = ("form.errors.rating_range", {})
    if form.nps is not None and form.nps not in NPS_SCORES:
        errors["nps"] = ("insight.form.nps_range", {})
    if form.next_on is not None and form.next_on <= today:
        errors["next_on"] = ("form.errors.next_in_past", {"today": today.isoformat()})
    if len(form.summary) > max_summary:
        errors["summary"] = ("form.errors.too_long", {"max": str(max_summary)})
    return errors
