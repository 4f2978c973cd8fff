"""90 days of nightly runs over a small book, from 2026-09-01, against a due list worked out by hand.

Calendar facts used (CN 2026): 中秋节 Fri 09-25; 国庆节 10-01..10-07 off (10-04 is a Sunday);
Sun 09-20 and Sat 10-10 are worked (调休). Etiquette: no Monday mornings (a Monday callback moves to
13:30, same day, when it aligns later; to Friday morning when it aligns earlier) and no Friday
afternoons. Default rules: welcome at once, first use +7 d, survey +30 d;
holiday greeting on the eve for high value / potential; birthday greeting 3 days before; periodic touch
when nobody touched the customer for: new 7 d, high value 14 d, potential 2 months, ordinary 1 month.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.care.calendar import WorkCalendar
from bot.care.forecast import SUPERVISORS, ForecastRow, forecast, load_by_agent_and_day
from bot.care.rules import default_rules
from bot.care.segments import CustomerFacts, segment_book

SH = ZoneInfo("Asia/Shanghai")
START = dt.date(2026, 9, 1)


def at(y: int, m: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=SH)


BOOK = [
    # New buyer (ordinary): bought Monday 08-31, the day before the forecast starts.
    CustomerFacts(
        1, "N001", "U_LI", Decimal("3000"), dt.date(2026, 8, 31), at(2026, 8, 31, 15), consent=True
    ),
    # VIP: last contact 08-25.
    CustomerFacts(
        2, "V001", "U_WANG", Decimal("200000"), dt.date(2024, 1, 15), at(2026, 8, 25), consent=True
    ),
    # Silent: nothing since 05-06 (more than 3, less than 6 months before 09-01).
    CustomerFacts(3, "S001", "U_LI", Decimal("20000"), dt.date(2024, 3, 1), at(2026, 5, 6), consent=True),
    # Churn risk: three complaints in 60 days, the first on 08-10 (it stops counting on 10-09 10:00).
    CustomerFacts(
        4,
        "R001",
        "U_WANG",
        Decimal("30000"),
        dt.date(2025, 1, 10),
        at(2026, 8, 28),
        consent=True,
        tickets_at=(at(2026, 8, 10), at(2026, 8, 20), at(2026, 8, 28)),
    ),
    # No consent: a new VIP buyer with a birthday in range, and still nothing at all.
    CustomerFacts(
        5, "X001", "U_LI", Decimal("150000"), dt.date(2026, 8, 31), None, dt.date(1985, 9, 10), consent=False
    ),
    # Potential tier, birthday Tue 10-13, gets holiday greetings.
    CustomerFacts(
        6,
        "B001",
        "U_ZHAO",
        Decimal("60000"),
        dt.date(2025, 3, 1),
        at(2026, 8, 20),
        dt.date(1990, 10, 13),
        consent=True,
    ),
]

N, V, S, R, B = ("N001", "U_LI"), ("V001", "U_WANG"), ("S001", "U_LI"), ("R001", "U_WANG"), ("B001", "U_ZHAO")

# (month, day, customer, kind, rule), derived from the rules by hand:
EXPECTED = [
    # N001: welcome for 08-31 caught up at once (Tue); reactivation for S001; the complaint spike makes
    # R001 churn risk: supervisor call the same day, first slot 09:00.
    (9, 1, N, "welcome", "first_purchase.welcome"),
    (9, 1, S, "reactivation", "silent.reactivation"),
    (9, 1, ("R001", SUPERVISORS), "churn_intervention", "churn_risk.intervention"),
    # N001 first use 08-31 + 7 = Mon 09-07 (13:30). The weekly touch counts from the latest touch, and the
    # cadence is a ceiling (periodic align: earlier): 09-07 + 7 = Mon 09-14 10:00 is in the Monday-morning
    # avoid slot -> the last allowed slot before, Fri 09-11 10:00; 09-11 + 7 = Fri 09-18 10:00 (a morning).
    (9, 7, N, "first_use", "first_purchase.first_use"),
    # V001: 08-25 + 14 = Tue 09-08.
    (9, 8, V, "periodic_touch", "periodic.touch"),
    (9, 11, N, "periodic_touch", "periodic.touch"),
    (9, 18, N, "periodic_touch", "periodic.touch"),
    (9, 22, V, "periodic_touch", "periodic.touch"),
    # 中秋 eve Thu 09-24, for the VIP and the potential customer. N001: 09-18 + 7 = Fri 09-25 is 中秋 -> Thu 09-24.
    (9, 24, B, "holiday_greeting", "holiday.greeting"),
    (9, 24, V, "holiday_greeting", "holiday.greeting"),
    (9, 24, N, "periodic_touch", "periodic.touch"),
    # 国庆 eve Wed 09-30; N001 survey 08-31 + 30 = 09-30 (6th contact of September: exactly the cap).
    # S001 (active again since 09-01): 09-01 + 1 month = 10-01 is 国庆 -> the working day before, Wed 09-30.
    (9, 30, N, "satisfaction_survey", "first_purchase.survey"),
    (9, 30, B, "holiday_greeting", "holiday.greeting"),
    (9, 30, V, "holiday_greeting", "holiday.greeting"),
    (9, 30, S, "periodic_touch", "periodic.touch"),
    # N001: the survey 09-30 is the latest touch; 09-30 + 7 = 10-07 and nothing after 09-30 is a working day
    # before it (10-01..10-07 off): the first allowed slot after, Thu 10-08.
    (10, 8, N, "periodic_touch", "periodic.touch"),
    # B001 birthday 10-13 - 3 = Sat 10-10, a worked Saturday. R001 leaves churn risk on 10-10 (two
    # complaints left in 60 days); its monthly touch (09-01 + 1 month) is overdue, so due at once: 10-10.
    (10, 10, B, "birthday_greeting", "birthday.greeting"),
    (10, 10, R, "periodic_touch", "periodic.touch"),
    # V001: 09-30 + 14 = 10-14, then every 14 days; N001 weekly on Thursdays.
    (10, 14, V, "periodic_touch", "periodic.touch"),
    (10, 15, N, "periodic_touch", "periodic.touch"),
    (10, 22, N, "periodic_touch", "periodic.touch"),
    (10, 28, V, "periodic_touch", "periodic.touch"),
    (10, 29, N, "periodic_touch", "periodic.touch"),
    (11, 5, N, "periodic_touch", "periodic.touch"),
    # S001: 09-30 + 1 month = Fri 10-30 10:00. R001: 10-10 + 1 month = Tue 11-10.
    (10, 30, S, "periodic_touch", "periodic.touch"),
    (11, 10, R, "periodic_touch", "periodic.touch"),
    (11, 11, V, "periodic_touch", "periodic.touch"),
    (11, 12, N, "periodic_touch", "periodic.touch"),
    (11, 19, N, "periodic_touch", "periodic.touch"),
    (11, 25, V, "periodic_touch", "periodic.touch"),
    # N001 is still new on 11-26 (new until 08-31 + 3 months = 11-30).
    (11, 26, N, "periodic_touch", "periodic.touch"),
    # S001: 10-30 + 1 month = Mon 11-30 10:00 (avoid slot) -> Fri 11-27 10:00.
    (11, 27, S, "periodic_touch", "periodic.touch"),
    # B001: every greeting pushed its 2-month touch on; the last one (10-10) puts it at 12-10, past the range.
]


def test_ninety_days_of_nightly_runs_match_the_hand_worked_plan():
    rules = default_rules()
    calendar = WorkCalendar()
    segments = segment_book(BOOK, rules, calendar.start_of_day(START))
    rows = forecast([(c, segments[c.customer_id]) for c in BOOK], [], rules, calendar, START, 90)

    expected = sorted(
        (
            ForecastRow(dt.date(2026, m, d), owner, code, kind, rule)
            for m, d, (code, owner), kind, rule in EXPECTED
        ),
        key=lambda r: (r.date, str(r.owner_id), r.customer_code, r.kind),
    )
    assert rows == expected
    assert not any(r.customer_code == "X001" for r in rows)
    assert all(calendar.is_working_day(r.date) for r in rows)


def test_load_by_agent_and_day_counts_rows():
    rows = [
        ForecastRow(dt.date(2026, 9, 30), "U_LI", "N001", "satisfaction_survey", "first_purchase.survey"),
        ForecastRow(dt.date(2026, 9, 30), "U_LI", "S001", "periodic_touch", "periodic.touch"),
        ForecastRow(dt.date(2026, 9, 30), "U_WANG", "V001", "holiday_greeting", "holiday.greeting"),
        ForecastRow(dt.date(2026, 10, 8), "U_LI", "N001", "periodic_touch", "periodic.touch"),
    ]
    assert load_by_agent_and_day(rows) == {
        ("U_LI", dt.date(2026, 9, 30)): 2,
        ("U_WANG", dt.date(2026, 9, 30)): 1,
        ("U_LI", dt.date(2026, 10, 8)): 1,
    }
