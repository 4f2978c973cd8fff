"""Checks on a logged call, as a care team expects them (pure: the caller passes `today`). A reached customer's
call is rated 1–5; an unreachable one has neither a rating nor a "would you recommend" (care-domain §6: the
rating is the customer's, and nobody was reached)."""

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
    reached = None if form.outcome not in {o.value for o in Outcome} else is_reached(Outcome(form.outcome))
    if reached is None:
        errors["outcome"] = ("form.errors.outcome_missing", {})
    elif reached and form.rating is None:
        errors["rating"] = ("form.errors.rating_missing", {})
    if form.rating is not None and form.rating not in RATINGS:
        errors["rating"] = ("form.errors.rating_range", {})
    elif form.rating is not None and reached is False:  # nobody was reached: nobody rated the call (§6)
        errors["rating"] = ("form.errors.rating_unreachable", {})
    if form.nps is not None and form.nps not in NPS_SCORES:
        errors["nps"] = ("insight.form.nps_range", {})
    elif form.nps is not None and reached is False:  # nor said whether they would recommend us
        errors["nps"] = ("insight.form.nps_unreachable", {})
    if form.next_on is not None and form.next_on <= today:
        errors["next_on"] = ("form.errors.next_in_past", {"today": today.isoformat()})
    if len(form.summary) > max_summary:
        errors["summary"] = ("form.errors.too_long", {"max": str(max_summary)})
    return errors
