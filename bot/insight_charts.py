"""The report's charts as PNG (matplotlib, Agg backend, no display needed), labelled in the reader's language.

Chinese labels need a font with CJK glyphs: the `pylopdf-fonts-zh-cn` package installs Noto Sans SC (SIL OFL),
and every text here is set in it, with DejaVu Sans (matplotlib's own) behind it for the rest. Each chart is
WIDTH × HEIGHT pixels. Figures are built with the object API (no pyplot state), so reports may be drawn on
several threads at once.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from bot.care.metrics import CATEGORIES, half_away  # noqa: E402
from bot.services.insight import Insight  # noqa: E402
from messages.render import translate  # noqa: E402

WIDTH, HEIGHT, DPI = 900, 500, 100
MAX_AGENTS = 25  # bars in the callbacks chart; the CSV has everyone
BLUE, ORANGE, GREY = "#2f6db5", "#e07b28", "#8a8a8a"


@dataclass(frozen=True)
class Chart:
    name: str  # file name, e.g. csat-trend-2026-W48.png
    title: str
    png: bytes


@cache
def cjk_font() -> str:
    """The family name of the shipped CJK font, registered with matplotlib once."""
    import pylopdf_fonts_zh_cn

    path = str(pylopdf_fonts_zh_cn.sans_path())
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def _figure() -> tuple[Figure, object]:
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    figure.subplots_adjust(left=0.1, right=0.97, top=0.88, bottom=0.16)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context({"font.family": [cjk_font(), "DejaVu Sans"], "axes.unicode_minus": False}):
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _t(locale: str, key: str, **params) -> str:
    text = str(translate(locale, f"insight.chart.{key}", **params))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _empty(axes, locale: str) -> None:
    axes.text(0.5, 0.5, _t(locale, "empty"), ha="center", va="center", transform=axes.transAxes, color=GREY,
              fontsize=14)


def _style(axes) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)


def csat_trend(insight: Insight, locale: str) -> Chart:
    with matplotlib.rc_context({"font.family": [cjk_font(), "DejaVu Sans"]}):
        figure, axes = _figure()
        labels = [label.split("-")[1] for label, _ in insight.csat_trend]
        means = [c.mean for _, c in insight.csat_trend]
        xs = [i for i, v in enumerate(means) if v is not None]
        axes.plot(xs, [means[i] for i in xs], marker="o", color=BLUE, linewidth=2)
        for i in xs:
            axes.annotate(f"{half_away(means[i], 2)}\nn={insight.csat_trend[i][1].n}", (i, means[i]),
                          textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
        axes.set_xticks(range(len(labels)), labels)
        axes.set_ylim(1, 5.6)
        axes.set_ylabel(_t(locale, "csat_axis"))
        axes.set_title(_t(locale, "csat_trend"))
        _style(axes)
        if not xs:
            _empty(axes, locale)
        return Chart(f"csat-trend-{insight.period.label}.png", _t(locale, "csat_trend"), _png(figure))


def sla_trend(insight: Insight, locale: str) -> Chart:
    with matplotlib.rc_context({"font.family": [cjk_font(), "DejaVu Sans"]}):
        figure, axes = _figure()
        labels = [label.split("-")[1] for label, _, _ in insight.sla_trend]
        drawn = False
        for index, (name, color) in enumerate((("first_response", BLUE), ("resolution", ORANGE))):
            values = [row[1 + index] for row in insight.sla_trend]
            xs = [i for i, v in enumerate(values) if v is not None]
            if xs:
                drawn = True
                axes.plot(xs, [values[i] for i in xs], marker="o", color=color, linewidth=2, label=_t(locale, name))
        axes.set_xticks(range(len(labels)), labels)
        axes.set_ylim(0, 105)
        axes.set_ylabel(_t(locale, "sla_axis"))
        axes.set_title(_t(locale, "sla_trend"))
        _style(axes)
        if drawn:
            axes.legend(loc="best", framealpha=0.9)
        else:
            _empty(axes, locale)
        return Chart(f"sla-by-week-{insight.period.label}.png", _t(locale, "sla_trend"), _png(figure))


def categories(insight: Insight, locale: str) -> Chart:
    with matplotlib.rc_context({"font.family": [cjk_font(), "DejaVu Sans"]}):
        figure, axes = _figure()
        counts = insight.team.current.complaints.by_category
        names = [str(translate(locale, f"complaint.categories.{c}")) for c in CATEGORIES]
        values = [counts.get(c, 0) for c in CATEGORIES]
        bars = axes.bar(names, values, color=BLUE)
        axes.bar_label(bars, padding=2)
        axes.set_ylabel(_t(locale, "count_axis"))
        axes.set_ylim(0, max(values + [1]) * 1.2)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        title = _t(locale, "categories", period=insight.period.label)
        axes.set_title(title)
        _style(axes)
        if not any(values):
            _empty(axes, locale)
        return Chart(f"complaints-by-category-{insight.period.label}.png", title, _png(figure))


def on_time_by_agent(insight: Insight, locale: str) -> Chart:
    with matplotlib.rc_context({"font.family": [cjk_font(), "DejaVu Sans"]}):
        figure, axes = _figure()
        rows = [(insight.name_of(agent), stats.on_time_rate, stats.planned - stats.pending)
                for agent, stats in insight.callbacks_by_agent.items() if stats.on_time_rate is not None]
        rows.sort(key=lambda row: (row[1], row[0]))
        rows = rows[:MAX_AGENTS]
        if rows:
            bars = axes.barh([r[0] for r in rows], [r[1] for r in rows], color=BLUE)
            axes.bar_label(bars, labels=[f"{half_away(r[1])}% (n={r[2]})" for r in rows], padding=3, fontsize=8)
        axes.set_xlim(0, 115)
        axes.set_xlabel(_t(locale, "on_time_axis"))
        title = _t(locale, "on_time", period=insight.period.label)
        axes.set_title(title)
        axes.spines[["top", "right"]].set_visible(False)
        figure.subplots_adjust(left=0.2)
        if not rows:
            _empty(axes, locale)
        return Chart(f"callbacks-on-time-{insight.period.label}.png", title, _png(figure))


def render_charts(insight: Insight, locale: str) -> list[Chart]:
    return [csat_trend(insight, locale), sla_trend(insight, locale), categories(insight, locale),
            on_time_by_agent(insight, locale)]


def write_charts(insight: Insight, folder: Path, locale: str) -> list[Path]:
    paths = []
    for chart in render_charts(insight, locale):
        path = folder / chart.name
        path.write_bytes(chart.png)
        paths.append(path)
    return paths
