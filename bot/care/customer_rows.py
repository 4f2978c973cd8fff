"""Reading one customer row of a team's spreadsheet (pure): headers in Chinese or English, cells as the sheet
holds them (care-domain §2: phone valid and in E.164, email valid, names normalised, a missing key field
marks the customer 待跟进)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from bot.care.privacy import normalise_phone
from bot.care.sheet_cells import Cell, cell_text, parse_amount, parse_date, parse_yes_no

HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("客户编号", "客户编码", "客户代码", "客户号", "客户id", "会员编号", "会员号", "编号", "code",
             "customer code", "customer id", "customer no", "customer number", "id", "no"),
    "name": ("姓名", "姓名/昵称", "昵称", "客户姓名", "客户名称", "客户名", "名称", "联系人", "name",
             "customer name", "full name", "nickname"),
    "phone": ("手机号码", "手机号", "手机", "联系电话", "电话", "电话号码", "联系方式", "联系号码", "移动电话",
              "联系手机", "phone", "mobile", "mobile phone", "cell", "cellphone", "tel", "telephone",
              "phone number", "contact number"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件", "邮箱地址", "email", "e-mail", "mail", "email address"),
    "company": ("公司", "公司名称", "单位", "企业", "企业名称", "所在公司", "company", "organisation",
                "organization"),
    "owner": ("客户经理", "负责人", "所属客服", "跟进人", "owner", "account manager", "agent"),
    "tier": ("客户等级", "等级", "级别", "分层", "客户分层", "tier", "level"),
    "first_purchase": ("首次购买时间", "首次购买", "首次购买日期", "首购时间", "首购日期", "首次成交时间",
                       "first purchase", "first purchase date", "first_purchase"),
    "birthday": ("生日", "出生日期", "出生年月日", "birthday", "date of birth", "dob", "birth date"),
    "annual_spend": ("年消费", "年消费金额", "年度消费", "年度消费金额", "annual spend", "annual_spend",
                     "yearly spend"),
    "tags": ("标签", "客户标签", "tags", "tag", "labels"),
    "consent": ("同意", "授权", "是否同意", "是否授权", "授权状态", "同意授权", "个人信息授权", "隐私授权",
                "consent", "pipl consent", "authorised", "authorized"),
}
TIERS = {
    "high_value": ("high_value", "high value", "高价值", "vip"),
    "potential": ("potential", "潜力"),
    "ordinary": ("ordinary", "普通"),
}
REQUIRED = ("code", "name", "phone")
# the longest value each column holds (the customer table's column sizes); a longer cell refuses its row
LIMITS = {"code": 64, "name": 200, "phone": 64, "email": 254, "company": 200, "owner": 32, "tier": 32,
          "tags": 2000, "annual_spend": 32, "first_purchase": 64, "birthday": 64, "consent": 16}
MAX_TAG = 64
_BIRTH_YEARS = (1900, 2100)


@dataclass(slots=True)
class CustomerRow:
    """One good row. `consent` is None when the sheet does not say (a new customer then gets the default)."""

    line: int
    code: str
    name: str
    phone: str | None
    email: str | None
    company: str | None
    owner_id: str | None
    tier: str | None  # None: the sheet has no tier (an existing customer keeps theirs)
    first_purchase_on: dt.date | None
    birthday: dt.date | None
    annual_spend: Decimal | None
    tags: tuple[str, ...]
    consent: bool | None

    @property
    def needs_follow_up(self) -> bool:
        """A key field (the phone) is missing: 待跟进 (care-domain §2)."""
        return self.phone is None


@dataclass(frozen=True)
class Columns:
    """Which column holds which field, and the headers nobody understood (named in the report)."""

    index: dict[str, int]
    unknown: tuple[str, ...]


def normalise_header(header: Cell) -> str:
    """`手机号码（必填）`, ` Mobile Phone *`, `E_mail`, `姓　名` -> a key to look up in HEADERS: NFKC (full-width
    letters and spaces to half-width), case-folded, without notes in brackets, marks, spaces or underscores
    (a space typed inside a header, full-width or not, never hides the column)."""
    text = unicodedata.normalize("NFKC", cell_text(header)).casefold()
    text = re.sub(r"\(.*?\)|\[.*?\]|【.*?】|[*:：]", "", text)
    return re.sub(r"[\s_\u200b\ufeff]+", "", text)


def header_names(field: str, count: int = 4) -> str:
    """The first `count` headers that name `field`, each once: `姓名/昵称/客户姓名/客户名称` (an alias such as
    `姓名/昵称` is two names already listed)."""
    names = dict.fromkeys(part.strip() for alias in HEADERS[field] for part in alias.split("/") if part.strip())
    return "/".join(list(names)[:count])


def map_headers(headers: list[Cell], require_phone: bool = True) -> Columns:
    """Column index per field; raises ValueError naming the required columns that are missing. Without a
    phone column a sheet would silently mark everyone 待跟进, so it is refused unless `require_phone` is
    False (a sheet that has no phones on purpose, e.g. birthdays for customers already in the book)."""
    wanted = {normalise_header(alias): field for field, aliases in HEADERS.items() for alias in aliases}
    found: dict[str, int] = {}
    unknown: list[str] = []
    for index, header in enumerate(headers):
        key = normalise_header(header)
        field = wanted.get(key)
        if field and field not in found:
            found[field] = index
        elif key:
            unknown.append(cell_text(header) + (" (a second column for the same field)" if field else ""))
    missing = [field for field in REQUIRED if field not in found and (require_phone or field != "phone")]
    if missing:
        raise ValueError("no column for " + ", ".join(f"{f} ({header_names(f)}…)" for f in missing))
    return Columns(found, tuple(unknown))


# invisible in a name or tag: zero-width spaces, bidi marks, embeddings, overrides and isolates, the Arabic letter
# mark, the soft hyphen, invisible math operators, the Mongolian vowel separator (joiners stay: scripts need them)
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b\u200e\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069]")


def normalise_name(name: str) -> str:
    """Full-width letters and digits to half-width, spaces collapsed, and the invisible characters a paste
    brings or a spoof hides behind taken out (U+202E shows "gnp.exe" as "exe.png"); "" when nothing visible is
    left (a name of joiners only is no name). Care-domain §2: names normalised; the import and the form alike."""
    text = re.sub(r"\s+", " ", _INVISIBLE.sub("", unicodedata.normalize("NFKC", name))).strip()
    return text if any(unicodedata.category(c)[0] in "LNPS" for c in text) else ""


def normalise_code(code: str | None) -> str:
    """A customer code as typed, without the invisible characters a paste brings or a spoof hides behind (a U+202E
    in a code reverses it in every post that shows it) and surrounding spaces; its letters, width and case are
    the team's (a code is the team's own identifier: `A001` and `a001` stay two codes)."""
    return _INVISIBLE.sub("", code or "").strip()


# Excel and WPS keep a number to 15 significant digits: a longer code typed as a number has lost its last digits
MAX_CODE_NUMBER = 10**15
# a number in scientific notation, as Excel writes one it shows shortened into a CSV (`1.23457E+19`, `1E+15`, and
# `1,23457E+19` with a European decimal comma) or as typed (`1.2E19`, `-1.2e+19`, `1E5`): its digits are gone
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_AS_TEXT = "format the code column as text and type the code again"


def code_cell(value: Cell) -> str:
    """The customer code a code cell holds (`normalise_code`), or ValueError saying why it holds none. A number cell
    is a code only when it is a whole number of at most 15 digits (2024001, never "2024001.0"); a number with a
    fraction, a negative one (-5, and -0.0, which would be the code 0), a longer one (its last digits were lost
    when it was typed) or a text in scientific notation (`1.23457E+19`, `1,23457E+19`, `1E5`) is refused, as are a
    date or a yes/no cell (Excel turned the code into one). A text cell is the code as typed (`-5` typed as text
    stays `-5`). Both imports read codes here."""
    if isinstance(value, bool):
        raise ValueError(f"code {cell_text(value)} is a yes/no cell, not a code: {_AS_TEXT}")
    if isinstance(value, dt.date | dt.time):
        raise ValueError(f"code {cell_text(value)} is a date cell (Excel took the code for a date): {_AS_TEXT}")
    if isinstance(value, int | float | Decimal):
        number = Decimal(value) if isinstance(value, int | Decimal) else Decimal(repr(value))
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError(f"code {cell_text(value)} is a number with a fraction, not a code: {_AS_TEXT}")
        if number.is_signed():  # -5, and -0.0 (which would be the code 0)
            shown = cell_text(value)
            raise ValueError(f"code {shown if shown.startswith('-') else '-' + shown} is a negative number, not a "
                             f"code: {_AS_TEXT}")
        if abs(number) >= MAX_CODE_NUMBER:  # said with the digits the file holds: the lost ones show
            raise ValueError(f"code {int(number)} is a number of more than 15 digits, so its last digits are lost "
                             f"(Excel keeps 15): {_AS_TEXT}")
        return str(int(number))
    text = normalise_code(cell_text(value))
    if _SCIENTIFIC.fullmatch(unicodedata.normalize("NFKC", text)):
        raise ValueError(f"code {text!r} was shortened by Excel to scientific notation and its digits are lost: "
                         "format the column as text and export again")
    return text


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags as a name is normalised (NFKC, invisible characters out), empty ones dropped, each once whatever its
    case (the first spelling kept): `vip\u200b, ＶＩＰ, vip` is one tag."""
    kept: dict[str, str] = {}
    for tag in tags:
        clean = normalise_name(tag)
        if clean:
            kept.setdefault(clean.casefold(), clean)
    return tuple(kept.values())


def normalise_email(raw: str) -> str:
    """A valid address, normalised and lower-cased (one person, one key: care-domain §2), or ValueError.

    NFKC first: full-width letters, digits and ＠ (typed with a Chinese input method on) are the ASCII address
    they look like. email-validator checks every address (it refuses invisible characters such as a zero-width
    space); a plain ASCII one (dot-atom local part) has its local part checked here by the same rule and its
    domain by email-validator once per domain (an import has few domains). Used by imports and the form alike."""
    raw = unicodedata.normalize("NFKC", raw).strip()
    local, at, domain = raw.rpartition("@")
    if at and len(raw) <= 254 and len(local) <= 64 and _DOT_ATOM.fullmatch(local) and domain.isascii():
        return local.lower() + "@" + _email_domain(domain.lower())
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"not an email address: {raw!r} ({exc})") from None


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")


@lru_cache(maxsize=4096)
def _email_domain(domain: str) -> str:
    try:
        return validate_email("x@" + domain, check_deliverability=False).normalized.lower().partition("@")[2]
    except EmailNotValidError as exc:
        raise ValueError(f"not an email address: the domain {domain!r} ({exc})") from None


def parse_row(line: int, values: dict[str, Cell]) -> CustomerRow:
    """One row as field -> cell; raises ValueError with every problem of the row."""
    problems: list[str] = []
    texts = {field: cell_text(value) for field, value in values.items()}
    refused: set[str] = set()  # fields refused already: never "empty" too
    if "code" in values:
        try:
            texts["code"] = code_cell(values["code"])
        except ValueError as exc:
            problems.append(str(exc))
            refused.add("code")
    for field, text in texts.items():
        if len(text) > LIMITS.get(field, 200):
            problems.append(f"{field} is {len(text):,} characters long (at most {LIMITS.get(field, 200):,})")
            refused.add(field)
    for field in refused:
        texts[field] = ""
        values = {**values, field: None}

    def text(field: str) -> str | None:
        return texts.get(field) or None

    code, name = normalise_code(text("code")) or None, normalise_name(text("name") or "") or None
    if not code and "code" not in refused:
        problems.append("code is empty")
    if not name and "name" not in refused:
        problems.append("name is empty")
    phone = _phone(text("phone"), problems)
    email = None
    if text("email"):
        try:
            email = normalise_email(text("email") or "")
        except ValueError as exc:
            problems.append(str(exc))
    owner = text("owner")
    if owner and not re.fullmatch(r"[UW][A-Z0-9]{2,}", owner):
        problems.append(f"owner must be a Slack user id (U…): {owner!r}")
    tier = _tier(text("tier"), problems) if text("tier") else None  # empty: the default, or what is stored
    first_purchase = _date(values.get("first_purchase"), "first purchase", problems)
    birthday = _date(values.get("birthday"), "birthday", problems)
    if birthday and not _BIRTH_YEARS[0] <= birthday.year < _BIRTH_YEARS[1]:
        problems.append(f"birthday {birthday.isoformat()} is not a birthday")
    spend = None
    if text("annual_spend"):
        try:
            spend = parse_amount(values["annual_spend"])
        except ValueError:
            problems.append(f"annual spend is not a number: {text('annual_spend')!r}")
        else:
            if spend < 0 or spend >= Decimal("1e12"):
                problems.append(f"annual spend {spend} is out of range")
    consent = None
    if text("consent"):
        try:
            consent = parse_yes_no(values["consent"])
        except ValueError:
            problems.append(f"consent is not yes or no (是/否, yes/no, 1/0): {text('consent')!r}")
    tags = normalise_tags(re.split(r"[,，、;；\s]+", text("tags") or ""))
    long_tags = [t for t in tags if len(t) > MAX_TAG]
    if long_tags:
        problems.append(f"a tag is longer than {MAX_TAG} characters: {long_tags[0][:20]!r}…")
    if problems:
        raise ValueError("; ".join(problems))
    return CustomerRow(line=line, code=code or "", name=name or "", phone=phone, email=email,
                       company=text("company"), owner_id=owner, tier=tier, first_purchase_on=first_purchase,
                       birthday=birthday, annual_spend=spend, tags=tags, consent=consent)


def _phone(raw: str | None, problems: list[str]) -> str | None:
    if not raw:
        return None
    if _SCIENTIFIC.fullmatch(unicodedata.normalize("NFKC", raw).strip()):
        problems.append(f"phone {raw!r} was shortened by Excel to scientific notation and its digits are lost: "
                        "format the column as text and export again")
        return None
    try:
        return normalise_phone(unicodedata.normalize("NFKC", raw))
    except ValueError as exc:
        problems.append(str(exc))
        return None


def _tier(value: str | None, problems: list[str]) -> str | None:
    for tier, aliases in TIERS.items():
        if (value or "").strip().lower() in aliases:
            return tier
    problems.append(f"unknown tier {value!r} (high_value/高价值, potential/潜力, ordinary/普通)")
    return None


def _date(value: Cell, what: str, problems: list[str]) -> dt.date | None:
    if value is None or cell_text(value) == "":
        return None
    try:
        return parse_date(value)
    except ValueError:
        problems.append(f"{what} is not a date (2024-05-01, 2024/5/1, 2024年5月1日): {cell_text(value)!r}")
        return None
