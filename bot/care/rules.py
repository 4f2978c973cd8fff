"""The team's care rules (care-domain §3, §4): segments, triggers, etiquette, outcomes.

Every default lives in rules_default.yaml (outcome defaults in OutcomeRules). A team file overrides any
subset: mappings merge key by key, lists and scalars replace. An invalid file raises RulesError naming
the key path and the line, and applies nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from bot.care.outcomes import OutcomeRules
from bot.care.tiers import Activity, Lifecycle, Tier

DEFAULT_RULES_PATH = Path(__file__).with_name("rules_default.yaml")

# owner: the customer's owner; supervisor: a supervisor of the team; owner_or_admin: the owner, or an admin of
# the team when the customer has none (a record task must be in someone's queue, care-domain §2)
OwnerRole = Literal["owner", "supervisor", "owner_or_admin"]
# Fields of the customer record a rule may call key (care-domain §2): one missing marks the customer 待跟进.
KeyField = Literal["phone", "email", "company", "owner", "birthday", "first_purchase"]
Params = tuple[tuple[str, str], ...]


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def index(self) -> int:  # Monday is 0, as date.weekday()
        return _WEEKDAY_INDEX[self]


_WEEKDAY_INDEX = {day: n for n, day in enumerate(Weekday)}  # not list(Weekday).index(): placing a callback asks often


def _parse_time(value: Any) -> Any:
    # PyYAML reads an unquoted 10:00 as the base-60 integer 600: take it back as minutes of the day.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60:
        value = f"{value // 60:02d}:{value % 60:02d}"
    if value in ("24:00", "24:00:00"):
        return dt.time.max
    return value


def _show_time(value: dt.time) -> str:
    return "24:00" if value == dt.time.max else value.isoformat(timespec="minutes")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Delay(_Model):
    months: int = Field(0, ge=0)
    days: int = Field(0, ge=0)
    hours: int = Field(0, ge=0)

    def params(self) -> Params:
        return tuple(
            (unit, str(n))
            for unit, n in (("months", self.months), ("days", self.days), ("hours", self.hours))
            if n
        )

    @property
    def is_zero(self) -> bool:
        return not (self.months or self.days or self.hours)

    @model_serializer(mode="wrap")
    def _nonzero(self, handler: SerializerFunctionWrapHandler) -> dict[str, int]:
        return {unit: n for unit, n in handler(self).items() if n}


class Step(_Model):
    """One callback a trigger creates."""

    kind: str = Field(min_length=1)
    after: Delay = Delay()
    owner_role: OwnerRole = "owner"
    # later: the next allowed slot at or after the target; earlier: the latest allowed slot not after it
    # (a greeting must come before its day, a "within 24 h" callback before its deadline).
    align: Literal["later", "earlier"] = "later"
    enabled: bool = True


class Greeting(Step):
    days_before: int = Field(ge=0)
    tiers: tuple[Tier, ...] = ()  # empty: every tier


class HolidayGreeting(Greeting):
    names: tuple[str, ...]  # substrings of the `holidays` package's names in the country's language


class Cadence(_Model):
    name: str
    tier: tuple[Tier, ...] = ()  # empty: any
    lifecycle: tuple[Lifecycle, ...] = ()
    every: Delay

    @field_validator("every")
    @classmethod
    def _not_zero(cls, every: Delay) -> Delay:
        if every.is_zero:
            raise ValueError("a cadence needs a positive interval")
        return every


class Periodic(Step):
    activities: tuple[Activity, ...]
    lifecycles: tuple[Lifecycle, ...]
    use: str
    presets: dict[str, tuple[Cadence, ...]]

    @model_validator(mode="after")
    def _known_preset(self) -> Periodic:
        if self.use not in self.presets:
            raise ValueError(f"use: {self.use!r} is not one of the presets {sorted(self.presets)}")
        return self

    @property
    def cadence(self) -> tuple[Cadence, ...]:
        return self.presets[self.use]


class FirstPurchase(_Model):
    welcome: Step
    first_use: Step
    survey: Step


class ComplaintResolved(_Model):
    callback: Step
    survey: Step
    one_to_one: Step


class RecordCompletion(Step):
    """A "complete the record" task while a key field is missing (care-domain §2)."""

    key_fields: tuple[KeyField, ...]


class Triggers(_Model):
    first_purchase: FirstPurchase
    complaint_resolved: ComplaintResolved
    birthday: Greeting
    holiday: HolidayGreeting
    silent: Step
    churn_risk: Step
    periodic: Periodic
    record: RecordCompletion


class SegmentRules(_Model):
    tier_method: Literal["threshold", "top_percent"]
    high_value_min_spend: int = Field(ge=0)
    potential_min_spend: int = Field(ge=0)
    top_percent: float = Field(gt=0, le=100)
    active_within_months: int = Field(ge=0)
    churn_after_months: int = Field(ge=0)
    spike_tickets: int = Field(ge=1)
    spike_window_days: int = Field(ge=1)
    new_within_months: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SegmentRules:
        if self.potential_min_spend > self.high_value_min_spend:
            raise ValueError("potential_min_spend must not exceed high_value_min_spend")
        if self.active_within_months > self.churn_after_months:
            raise ValueError("active_within_months must not exceed churn_after_months")
        return self


class Planning(_Model):
    horizon_days: int = Field(ge=1)
    lookback_days: int = Field(ge=0)
    default_time: dt.time

    @field_validator("default_time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return _parse_time(value)

    @field_serializer("default_time", when_used="json")
    def _show(self, value: dt.time) -> str:
        return _show_time(value)


class AvoidSlot(_Model):
    weekday: Weekday
    start: dt.time
    end: dt.time  # "24:00" is the end of the day

    @field_validator("start", "end", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return _parse_time(value)

    @field_serializer("start", "end", when_used="json")
    def _show(self, value: dt.time) -> str:
        return _show_time(value)

    @model_validator(mode="after")
    def _ordered(self) -> AvoidSlot:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class Etiquette(_Model):
    avoid: tuple[AvoidSlot, ...]
    monthly_cap: dict[Tier, int]
    cap_exempt_kinds: tuple[str, ...]
    max_open_per_kind: int = Field(ge=1)
    earlier_days: int = Field(14, ge=0)  # how far back an `align: earlier` callback may move

    @field_validator("monthly_cap")
    @classmethod
    def _every_tier(cls, caps: dict[Tier, int]) -> dict[Tier, int]:
        missing = [t.value for t in Tier if t not in caps]
        if missing:
            raise ValueError(f"missing tiers: {', '.join(missing)}")
        if any(n < 0 for n in caps.values()):
            raise ValueError("a cap cannot be negative")
        return caps


class CareRules(_Model):
    segments: SegmentRules
    planning: Planning
    triggers: Triggers
    etiquette: Etiquette
    outcomes: OutcomeRules = Field(default_factory=OutcomeRules)


class RulesError(ValueError):
    """An invalid rules file. `issues` holds (key path, line, message); the first is also `.path`/`.line`."""

    def __init__(self, issues: list[tuple[str, int, str]]):
        self.issues = issues
        self.path, self.line, _ = issues[0]
        super().__init__("; ".join(f"{path}: {msg} (line {line})" for path, line, msg in issues))


@lru_cache(maxsize=1)
def default_rules() -> CareRules:
    return _validate(*_parse(DEFAULT_RULES_PATH.read_text(encoding="utf-8")))


def load_rules(text_or_path: str | Path, base: CareRules | None = None) -> CareRules:
    """The rules a team file (YAML text, or a path to a .yaml/.yml file) makes of `base` (the defaults)."""
    lines, data = _parse(_read(text_or_path))
    base_data = (base or default_rules()).model_dump(mode="json")
    return _validate(lines, _deep_merge(base_data, data))


def dump_effective(rules: CareRules) -> str:
    return yaml.safe_dump(rules.model_dump(mode="json"), allow_unicode=True, sort_keys=False)


def _validate(lines: dict[tuple, int], data: dict[str, Any]) -> CareRules:
    try:
        return CareRules.model_validate(data)
    except ValidationError as exc:
        raise RulesError([_issue(err, lines) for err in exc.errors()]) from None


def _read(text_or_path: str | Path) -> str:
    if isinstance(text_or_path, Path):
        return text_or_path.read_text(encoding="utf-8")
    if "\n" not in text_or_path and text_or_path.strip().endswith((".yaml", ".yml")):
        return Path(text_or_path.strip()).read_text(encoding="utf-8")
    return text_or_path


def _parse(text: str) -> tuple[dict[tuple, int], dict[str, Any]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RulesError([("(yaml)", line, str(getattr(exc, "problem", None) or exc))]) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise RulesError([("(top)", node.start_mark.line + 1, "a rules file is a mapping of sections")])
    return _line_index(node), data


def _line_index(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines.update(_line_index(value, (*path, key.value)))
            lines[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_line_index(item, (*path, i)))
    return lines


def _issue(err: Mapping[str, Any], lines: dict[tuple, int]) -> tuple[str, int, str]:
    loc = tuple(p for p in err["loc"] if p != "[key]")
    shown = ".".join(str(p) for p in loc) or "(top)"
    # The nearest key the team's file itself wrote; a bad default pulled in by the merge points at its parent.
    for cut in range(len(loc), -1, -1):
        prefix = tuple(str(p) if not isinstance(p, int) else p for p in loc[:cut])
        if prefix in lines:
            return shown, lines[prefix], err["msg"]
    return shown, 1, err["msg"]


def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base[key], value) if key in base else value
        return merged
    return override
