"""The metrics on a fixed book, against numbers worked out by hand (care-domain §7)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.care import metrics as m
from bot.care.calendar import WorkCalendar
from bot.care.sla_rules import Target

SH = ZoneInfo("Asia/Shanghai")
TZ = "Asia/Shanghai"
W48 = m.Period.parse("2026-W48", TZ)  # Monday 2026-11-23 .. Sunday 2026-11-29, no holiday
CAL = WorkCalendar(timezone=TZ)  # working 09:00-12:00 and 13:30-18:00: 7.5 h a day


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SH)


# --- periods --------------------------------------------------------------------------------------------


def test_weeks_and_months_follow_the_team_timezone():
    assert (W48.first, W48.last, W48.label) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29), "2026-W48")
    assert W48.start == at(23, 0) and W48.end == at(30, 0)
    assert W48.previous().label == "2026-W47" and W48.next().label == "2026-W49"
    # 23:30 on Sunday in Shanghai is 15:30 UTC on Sunday: the week of that Sunday
    sunday_night = dt.datetime(2026, 11, 29, 15, 30, tzinfo=dt.UTC)
    assert W48.contains(sunday_night)
    assert m.Period.containing("week", sunday_night, TZ) == W48
    # 00:30 on Monday in Shanghai is still Sunday in UTC, yet it belongs to the next week
    monday_early = dt.datetime(2026, 11, 29, 16, 30, tzinfo=dt.UTC)
    assert not W48.contains(monday_early) and m.Period.containing("week", monday_early, TZ).label == "2026-W49"
    # the same moment read by a team in London is still in W48
    assert m.Period.containing("week", monday_early, "Europe/London").label == "2026-W48"


def test_months_and_their_neighbours():
    nov = m.Period.parse("2026-11", TZ)
    assert (nov.first, nov.last, nov.previous().label, nov.next().label) == (
        dt.date(2026, 11, 1), dt.date(2026, 11, 30), "2026-10", "2026-12")
    jan = m.Period.parse("2027-01", TZ)
    assert jan.previous().label == "2026-12" and jan.previous().last == dt.date(2026, 12, 31)
    assert [p.label for p in W48.back(3)] == ["2026-W46", "2026-W47", "2026-W48"]
    assert m.Period.parse("2026-W53", TZ).label == "2026-W53"  # 2026 has 53 ISO weeks
    for bad in ("2026-13", "2026-W", "48", "2026-11-01", ""):
        with pytest.raises(ValueError):
            m.Period.parse(bad, TZ)


def test_a_running_period_is_judged_now_and_a_past_one_at_its_end():
    assert W48.as_of(at(25, 12)) == at(25, 12)
    assert W48.as_of(at(30, 9)) == W48.end
    assert W48.as_of(at(20, 9)) == W48.start


# --- CSAT and NPS ---------------------------------------------------------------------------------------


def test_csat_mean_and_share_of_4_and_5():
    assert m.csat([]) == m.Csat(0, None, None)
    assert m.csat([None, None]) == m.Csat(0, None, None)
    assert m.csat([5]) == m.Csat(1, 5.0, 100.0)
    # 5 + 4 + 3 + 1 = 13 over 4 ratings; two of four are 4-5
    assert m.csat([5, 4, 3, 1, None]) == m.Csat(4, 3.25, 50.0)


def test_nps_promoters_minus_detractors_with_too_few_answers():
    empty = m.nps([], 10)
    assert (empty.n, empty.score, empty.enough) == (0, None, False)
    single = m.nps([10], 1)
    assert (single.n, single.score, single.enough) == (1, 100, True)
    # 10, 9 promoters; 8, 7 passives; 6, 0 detractors: 33 % - 33 % = 0
    tie = m.nps([10, 9, 8, 7, 6, 0, None], 5)
    assert (tie.n, tie.promoters, tie.passives, tie.detractors, tie.score, tie.enough) == (6, 2, 2, 2, 0, True)
    # 3 promoters of 4 (75 %) minus 1 detractor (25 %) = 50; under a threshold of 10 answers: too few
    few = m.nps([9, 9, 9, 0], 10)
    assert (few.score, few.enough) == (50, False)
    # 2 of 3 promoters, none detractors: 66.7 rounds to 67
    assert m.nps([9, 10, 7], 1).score == 67
    assert m.nps([6], 1).score == -100


# --- callbacks ------------------------------------------------------------------------------------------


def cb(due: dt.datetime, status: str = "open", closed: dt.datetime | None = None, owner: str = "U1") -> m.CallbackFact:
    return m.CallbackFact(owner_id=owner, tier="ordinary", due_at=due, status=status, closed_at=closed)


def test_callbacks_on_time_late_missed_pending():
    as_of = at(25, 12)  # Wednesday noon
    book = [
        cb(at(23, 10), "done", at(23, 15)),  # on time
        cb(at(23, 10), "done", at(24, 9, 30)),  # late: done the next day
        cb(at(24, 10)),  # missed: Tuesday is over and nothing was logged
        cb(at(25, 10)),  # pending: Wednesday is not over
        cb(at(25, 10), "done", at(25, 11)),  # on time
        cb(at(23, 10), "cancelled"),  # not planned
        cb(at(20, 10), "done", at(20, 11)),  # the week before
        cb(at(24, 10), "rescheduled", at(24, 16)),  # a call was logged (unreachable) on the day: on time
        cb(at(29, 23, 30)),  # Sunday 23:30 local is in this week: pending
        cb(at(23, 10), "done", at(26, 10)),  # done after as_of: as of Wednesday noon it is missed
    ]
    stats = m.callback_stats(book, W48, as_of)
    assert stats == m.CallbackStats(planned=8, on_time=3, late=1, missed=2, pending=2)
    assert stats.on_time_rate == 50.0  # 3 of the 6 judged
    assert m.callback_stats([], W48, as_of).on_time_rate is None
    assert m.callback_stats([cb(at(25, 10))], W48, as_of).on_time_rate is None  # only pending: nothing judged


# --- complaints -----------------------------------------------------------------------------------------

FR = Target(duration=dt.timedelta(hours=1), business_hours=True)
RES = Target(duration=dt.timedelta(hours=8), business_hours=True)


def co(cid: int, opened: dt.datetime, first: dt.datetime | None = None, resolved: dt.datetime | None = None, *,
       customer: int | None = None, category: str = "quality", kind: str = "complaint", severity: str = "normal",
       pauses=()) -> m.ComplaintFact:
    return m.ComplaintFact(id=cid, customer_id=customer or cid, owner_id="U1", tier="ordinary", kind=kind,
                           severity=severity, category=category, opened_at=opened, first_response_at=first,
                           resolved_at=resolved, pauses=tuple(pauses), first_response_target=FR,
                           resolution_target=RES)


BOOK = [
    # answered in 0.5 h; solved Monday 16:00: 10:00-12:00 and 13:30-16:00 = 4.5 h of work
    co(1, at(23, 10), at(23, 10, 30), at(23, 16), category="quality"),
    # answered in 1.5 h (breached); solved Tuesday 14:30 = 6.5 h Monday + 4 h Tuesday = 10.5 h (breached);
    # the same customer's service complaint was resolved 3 days earlier: reopened
    co(2, at(23, 10), at(23, 11, 30), at(24, 14, 30), customer=7, category="service"),
    # paused over the period's end (Thursday 10:00 until next Tuesday): 1 h of work counted, not breached: pending
    co(3, at(26, 9), at(26, 9, 30), None, category="logistics", pauses=[(at(26, 10), at(1, 10, month=12))]),
    # never answered: at the period's end 15 h of work have passed, both clocks breached
    co(4, at(26, 9), None, None, category="price", severity="high"),
    # an inquiry answered in 5 min and solved in 20
    co(5, at(25, 9), at(25, 9, 5), at(25, 9, 20), category="other", kind="inquiry"),
    # the week before: not counted, but it makes complaint 2 a reopened one
    co(6, at(20, 10), at(20, 10, 10), at(20, 17), customer=7, category="service"),
]


def test_complaint_sla_times_and_rates_by_hand():
    stats = m.complaint_stats(BOOK, W48, CAL, W48.end)
    assert (stats.opened, stats.resolved, stats.reopened) == (5, 3, 1)
    assert stats.resolution_rate == 60.0
    fr = stats.first_response
    assert (fr.met, fr.breached, fr.pending) == (3, 2, 0) and fr.within_sla == 60.0
    assert sorted(fr.hours) == pytest.approx([5 / 60, 0.5, 0.5, 1.5])
    assert fr.median_hours == pytest.approx(0.5)  # the two middle values tie at 0.5
    assert fr.p90_hours == pytest.approx(1.5)  # ceil(0.9 * 4) = 4th smallest
    res = stats.resolution
    assert (res.met, res.breached, res.pending) == (2, 2, 1) and res.within_sla == 50.0
    assert sorted(res.hours) == pytest.approx([20 / 60, 4.5, 10.5])
    assert res.median_hours == pytest.approx(4.5) and res.p90_hours == pytest.approx(10.5)
    assert stats.by_category == {"quality": 1, "service": 1, "logistics": 1, "price": 1, "other": 1}
    assert stats.by_kind == {"complaint": 4, "inquiry": 1}
    assert stats.by_severity == {"normal": 4, "high": 1}


def test_the_paused_complaint_is_judged_as_of_the_period_end_not_later():
    paused = [c for c in BOOK if c.id == 3]
    at_end = m.complaint_stats(paused, W48, CAL, W48.end).resolution
    assert (at_end.met, at_end.breached, at_end.pending) == (0, 0, 1)
    # without the pause, Thursday and Friday (15 h of work) would breach the 8 h target
    unpaused = [co(3, at(26, 9), at(26, 9, 30), None, category="logistics")]
    assert m.complaint_stats(unpaused, W48, CAL, W48.end).resolution.breached == 1


def test_no_complaints_gives_no_rates():
    stats = m.complaint_stats([], W48, CAL, W48.end)
    assert stats.opened == 0 and stats.resolution_rate is None
    assert stats.first_response.within_sla is None and stats.first_response.median_hours is None
    assert stats.first_response.p90_hours is None
    assert stats.by_category == dict.fromkeys(m.CATEGORIES, 0)


def test_a_single_complaint():
    stats = m.complaint_stats([BOOK[0]], W48, CAL, W48.end)
    assert stats.first_response.median_hours == pytest.approx(0.5) == stats.first_response.p90_hours
    assert stats.first_response.within_sla == 100.0 and stats.resolution_rate == 100.0


# --- customers and changes ------------------------------------------------------------------------------


def test_repeat_contact_rate():
    tickets = [
        (1, at(10, 10)), (1, at(24, 10)),  # 14 days apart: a repeat
        (2, at(25, 10)),  # once
        (3, at(1, 10, month=10)), (3, at(26, 10)),  # 56 days apart: not a repeat
        (4, at(23, 10)), (4, at(27, 10)),  # twice in the week
        (5, at(18, 10)),  # only the week before
    ]
    stats = m.repeat_contacts(tickets, W48, W48.end)
    assert (stats.contacted, stats.repeated, stats.rate) == (4, 2, 50.0)
    assert m.repeat_contacts([], W48, W48.end).rate is None
    assert m.repeat_contacts(tickets, W48, W48.end, m.MetricSettings(repeat_days=60)).repeated == 3


def test_the_three_that_moved_most_compare_across_units():
    changes = [
        m.Change("csat_mean", 4.0, 3.6, "mean"),  # 0.4 of a 4-point range: 0.10
        m.Change("callbacks_on_time_pct", 80.0, 60.0, "%"),  # 20 points: 0.20
        m.Change("nps", 10, 30, "score"),  # 20 of 200: 0.10, ties with CSAT, which comes first
        m.Change("resolution_median_h", 2.0, 4.0, "hours"),  # half of the previous value: 0.50
        m.Change("churn_risk", 10, 10, "count"),  # did not move
        m.Change("first_response_within_sla_pct", None, 50.0, "%"),  # nothing this period
    ]
    assert [c.key for c in m.moved_most(changes)] == ["resolution_median_h", "callbacks_on_time_pct", "csat_mean"]
    assert changes[2].delta == -20 and changes[5].delta is None
