"""How insight numbers read, in the person's language: values with their unit, changes with an arrow, and the
plain-text report `carebot report` prints. Slack payloads are the templates `stats.json.j2`, `report.json.j2`."""

from __future__ import annotations

from babel.dates import format_date

from bot.care.metrics import Change, MetricSettings, exact, half_away
from bot.services.insight import Figures, Insight
from messages.render import Mrkdwn, catalog, translate

_BABEL = {"zh-CN": "zh_Hans_CN", "en": "en"}


def value_text(value: float | int | None, unit: str, locale: str) -> str:
    if value is None:
        return str(translate(locale, "insight.no_data"))
    if unit == "%":
        return f"{half_away(value, 1)}%"
    if unit == "mean":
        return str(half_away(value, 2))
    if unit == "score":
        return f"{half_away(value):+}"
    if unit == "hours":
        return str(translate(locale, "insight.unit.hours", value=str(half_away(value, 1))))
    return str(int(value))


def delta_text(change: Change, locale: str) -> str:
    delta = change.delta
    if delta is None:
        return "—" if change.previous is not None or change.value is None else str(translate(locale, "insight.first"))
    digits = {"%": 1, "mean": 2, "hours": 1}.get(change.unit, 0)
    assert change.value is not None and change.previous is not None
    shown = half_away(exact(change.value) - exact(change.previous), digits)  # as a spreadsheet: 12.35 - 10 is +2.4
    if shown == 0:  # moved less than what is shown: no arrow, no "-0.0"
        shown, arrow, sign = abs(shown), "＝", ""
    else:
        arrow, sign = ("▲" if delta > 0 else "▼"), "+"
    number = f"{shown:{sign}}"
    if change.unit == "%":
        number = f"{number} {translate(locale, 'insight.unit.points')}"
    elif change.unit == "hours":
        number = str(translate(locale, "insight.unit.hours", value=number))
    return f"{arrow} {number}"


def change_value_text(change: Change, locale: str) -> str:
    if change.key == "nps" and change.value is None and change.n:
        return str(translate(locale, "insight.too_few", n=change.n))
    return value_text(change.value, change.unit, locale)


def metric_label(key: str, locale: str, settings: MetricSettings) -> Mrkdwn:
    """A headline number's name, with the team's line where it has one: the satisfied share reads "CSAT 3–5"
    once `csat_satisfied_min` is 3, as it counts ratings 3–5 (what is shown is what is counted)."""
    low = settings.csat_satisfied_min  # the rating scale is 1–5
    return translate(locale, f"insight.metric.{key}", ratings=f"{low}–5" if low < 5 else "5")


def headline(changes: list[Change], locale: str, settings: MetricSettings) -> list[dict[str, str]]:
    """Each headline number as label (with the team's lines: `settings`), value, and its change against the
    period before."""
    return [{"key": c.key, "label": metric_label(c.key, locale, settings),
             "value": change_value_text(c, locale), "delta": delta_text(c, locale),
             "previous": value_text(c.previous, c.unit, locale)} for c in changes]


def short(figures: Figures, locale: str) -> dict[str, str]:
    """The few numbers of one person or scope, for a line."""
    return {"csat": value_text(figures.csat.mean, "mean", locale),
            "on_time": value_text(figures.callbacks.on_time_rate, "%", locale),
            "complaints": str(figures.complaints.opened),
            "nps": (value_text(figures.nps.score, "score", locale) if figures.nps.enough
                    else str(translate(locale, "insight.too_few", n=figures.nps.n))),
            "fr": value_text(figures.complaints.first_response.within_sla, "%", locale),
            "res": value_text(figures.complaints.resolution.within_sla, "%", locale)}


def day(value, locale: str) -> str:
    return format_date(value, format="medium", locale=_BABEL.get(locale, "en"))


def category_counts(insight: Insight, locale: str) -> str:
    counts = insight.team.current.complaints.by_category
    return " · ".join(f"{translate(locale, f'complaint.categories.{name}')} {count}" for name, count in counts.items())


def tier_csat(insight: Insight, locale: str) -> str:
    """Satisfaction by tier: "高价值 4.50 (n=2) · 普通 2.00 (n=1)"."""
    parts = []
    for tier, comparison in sorted(insight.by_tier.items()):
        csat = comparison.current.csat
        label = translate(locale, f"segment.{tier}") if f"segment.{tier}" in catalog(locale) else tier
        parts.append(f"{label} {value_text(csat.mean, 'mean', locale)} (n={csat.n})")
    return " · ".join(parts)


def report_text(insight: Insight, locale: str) -> str:
    """The report as plain text (what `carebot report` prints)."""
    period = insight.period
    lines = [str(translate(locale, f"insight.report.title_{period.kind}", period=period.label)),
             str(translate(locale, "insight.report.intro", team=insight.team_name, start=day(period.first, locale),
                           end=day(period.last, locale), previous=period.previous().label)), ""]
    for item in headline(insight.headline, locale, insight.settings):
        lines.append(f"  {item['label']}: {item['value']}  ({item['delta']})")
    lines.append("")
    lines.append(str(translate(locale, "insight.report.moved")).strip("*"))
    for change in insight.moved:
        lines.append("  " + str(translate(locale, "insight.report.moved_line",
                                          metric=metric_label(change.key, locale, insight.settings),
                                          value=change_value_text(change, locale),
                                          delta=delta_text(change, locale))))
    if not insight.moved:
        lines.append("  " + str(translate(locale, "insight.report.nothing_moved", previous=period.previous().label)))
    lines.append(str(translate(locale, "insight.report.categories", counts=category_counts(insight, locale))))
    lines.append(str(translate(locale, "insight.tiers", tiers=tier_csat(insight, locale))))
    text = "\n".join(lines)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")  # plain text, not mrkdwn
