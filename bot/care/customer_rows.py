"""Reading one customer row of a team's spreadsheet (pure): headers in Chinese or English."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.care.privacy import normalise_phone

HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("客户编号", "编号", "code", "customer code", "id"),
    "name": ("姓名", "姓名/昵称", "昵称", "客户名称", "name"),
    "phone": ("联系方式", "电话", "手机", "phone", "mobile"),
    "email": ("邮箱", "email", "e-mail"),
    "company": ("公司", "company"),
    "owner": ("客户经理", "负责人", "owner", "account manager"),
    "tier": ("客户等级", "等级", "分层", "tier", "level"),
    "first_purchase": ("首次购买时间", "首次购买", "first purchase", "first_purchase"),
    "birthday": ("生日", "birthday"),
    "annual_spend": ("年消费", "年度消费金额", "annual spend", "annual_spend"),
    "tags": ("标签", "tags"),
}
TIERS = {
    "high_value": ("high_value", "high value", "高价值", "vip"),
    "potential": ("potential", "潜力"),
    "ordinary": ("ordinary", "普通", ""),
}
REQUIRED = ("code", "name")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M")


@dataclass(frozen=True)
class CustomerRow:
    code: str
    name: str
    phone: str | None
    email: str | None
    company: str | None
    owner_id: str | None
    tier: str
    first_purchase_on: dt.date | None
    birthday: dt.date | None
    annual_spend: Decimal | None
    tags: tuple[str, ...]
    needs_follow_up: bool  # a key field (phone) is missing


def map_headers(headers: list[str]) -> dict[str, int]:
    """Column index per field; raises ValueError naming the missing required columns."""
    wanted = {alias.lower(): field for field, aliases in HEADERS.items() for alias in aliases}
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        field = wanted.get((header or "").strip().lower())
        if field and field not in found:
            found[field] = index
    missing = [field for field in REQUIRED if field not in found]
    if missing:
        raise ValueError("missing columns: " + ", ".join(f"{f} ({HEADERS[f][0]})" for f in missing))
    return found


def parse_row(values: dict[str, str]) -> CustomerRow:
    """One row as field -> raw text; raises ValueError with every problem of the row."""
    problems: list[str] = []

    def text(field: str) -> str | None:
        value = (values.get(field) or "").strip()
        return value or None

    code, name = text("code"), text("name")
    if not code:
        problems.append("code is empty")
    if not name:
        problems.append("name is empty")
    phone = None
    if text("phone"):
        try:
            phone = normalise_phone(text("phone") or "")
        except ValueError as exc:
            problems.append(str(exc))
    email = text("email")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        problems.append(f"not an email address: {email!r}")
    owner = text("owner")
    if owner and not re.fullmatch(r"[UW][A-Z0-9]{2,}", owner):
        problems.append(f"owner must be a Slack user id (U…): {owner!r}")
    tier = _tier(text("tier") or "", problems)
    first_purchase = _date(text("first_purchase"), "first purchase", problems)
    birthday = _date(text("birthday"), "birthday", problems)
    spend = None
    if text("annual_spend"):
        try:
            spend = Decimal((text("annual_spend") or "").replace(",", "").replace("¥", ""))
        except InvalidOperation:
            problems.append(f"annual spend is not a number: {text('annual_spend')!r}")
    if problems:
        raise ValueError("; ".join(problems))
    tags = tuple(t for t in re.split(r"[,，、;；\s]+", text("tags") or "") if t)
    return CustomerRow(code=code or "", name=name or "", phone=phone, email=email, company=text("company"),
                       owner_id=owner, tier=tier, first_purchase_on=first_purchase, birthday=birthday,
                       annual_spend=spend, tags=tags, needs_follow_up=phone is None)


def _tier(value: str, problems: list[str]) -> str:
    for tier, aliases in TIERS.items():
        if value.strip().lower() in aliases:
            return tier
    problems.append(f"unknown tier {value!r} (high_value/高价值, potential/潜力, ordinary/普通)")
    return "ordinary"


def _date(value: str | None, what: str, problems: list[str]) -> dt.date | None:
    if not value:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    problems.append(f"{what} is not a date (YYYY-MM-DD): {value!r}")
    return None
