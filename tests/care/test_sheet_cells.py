"""Cells as Chinese sheets write them (issue 9): dates, phones, emails, codes, yes/no — hypothesis where it fits."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.care.customer_rows import map_headers, normalise_email, parse_row
from bot.care.privacy import normalise_phone
from bot.care.sheet_cells import formatted_number, neutralise_formula, parse_date, parse_datetime, parse_yes_no

DATES = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2099, 12, 31))


@given(DATES, st.sampled_from(["{y}-{m:02}-{d:02}", "{y}/{m}/{d}", "{y}.{m}.{d}", "{y}年{m}月{d}日",
                               "{y} 年 {m} 月 {d} 日", "{y}{m:02}{d:02}", "{y}-{m}-{d} 00:00", "{y}/{m}/{d}"]))
def test_every_way_a_sheet_writes_a_date(day, fmt):
    assert parse_date(fmt.format(y=day.year, m=day.month, d=day.day)) == day


@given(DATES)
def test_excel_serial_numbers_are_dates(day):
    serial = (day - dt.date(1899, 12, 30)).days
    assert parse_date(serial) == day and parse_date(str(serial)) == day and parse_date(float(serial)) == day


@given(st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2099, 12, 31)))
def test_date_time_cells_and_texts_keep_their_time(moment):
    moment = moment.replace(microsecond=0)
    assert parse_datetime(moment) == moment
    assert parse_datetime(f"{moment:%Y-%m-%d %H:%M:%S}") == moment
    assert parse_datetime(f"{moment.year}年{moment.month}月{moment.day}日 {moment.hour}:{moment.minute:02}") \
        == moment.replace(second=0)


def test_a_serial_with_a_fraction_is_a_time_of_day():
    assert parse_datetime(45413.6041666667) == dt.datetime(2024, 5, 1, 14, 30)


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "2024-02-30", "99999999", "1.5e3", "", "5月1日"])
def test_what_is_not_a_date(text):
    with pytest.raises(ValueError):
        parse_date(text)


MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(MOBILES, st.sampled_from(["{n}", "+86 {a} {b} {c}", "0086-{n}", "+86-{n}", "{a}-{b}-{c}", "86{n}",
                                 "({a}) {b} {c}", "+86{n}"]))
def test_one_mainland_mobile_written_any_way_is_one_e164(number, fmt):
    text = fmt.format(n=number, a=number[:3], b=number[3:7], c=number[7:])
    try:
        expected = normalise_phone(number)
    except ValueError:  # an unallocated range: then every writing of it is refused too
        with pytest.raises(ValueError):
            normalise_phone(text)
        return
    assert normalise_phone(text) == expected == "+86" + number


@pytest.mark.parametrize("text, e164", [("010-12345678", "+861012345678"), ("0755-1234 5678", "+8675512345678"),
                                        ("+852 9123 4567", "+85291234567"), ("+853 6612 3456", "+85366123456"),
                                        ("+886 912 345 678", "+886912345678"), ("400-820-8820", "+864008208820")])
def test_landlines_and_neighbouring_regions(text, e164):
    assert normalise_phone(text) == e164


@given(st.emails())
def test_an_address_in_any_case_is_one_key(address):
    try:
        normal = normalise_email(address)
    except ValueError:
        return  # hypothesis makes some addresses email-validator rightly refuses (e.g. reserved domains)
    assert normal == normal.lower()
    assert normalise_email(address.upper()) == normal


@pytest.mark.parametrize("text", ["not-an-email", "a@b", "张三@", "a b@example.com"])
def test_bad_addresses_are_refused(text):
    with pytest.raises(ValueError):
        normalise_email(text)


@pytest.mark.parametrize("value, fmt, shown", [(42, "000000", "000042"), (42.0, "000000", "000042"),
                                               (7, '"A"000', "A007"), (42, "General", None), (4.5, "000", None),
                                               (42, "0.00", None)])
def test_codes_as_the_sheet_shows_them(value, fmt, shown):
    assert formatted_number(value, fmt) == shown


@pytest.mark.parametrize("text, consent", [("是", True), ("yes", True), ("1", True), ("TRUE", True),
                                           ("已授权", True), ("否", False), ("No", False), ("0", False),
                                           ("false", False), ("未授权", False)])
def test_consent_values(text, consent):
    assert parse_yes_no(text) is consent


@pytest.mark.parametrize("text", ["=1+1", "+86138", "-5", "@SUM(A1)", "=HYPERLINK(\"http://x\")"])
def test_formulas_are_neutralised(text):
    assert neutralise_formula(text) == "'" + text


def test_headers_in_chinese_and_english_and_the_rest_named():
    columns = map_headers(["客户编号", "客户名称", "联系电话", "E-mail", "来源渠道", "是否授权", "Mobile Phone"])
    assert columns.index == {"code": 0, "name": 1, "phone": 2, "email": 3, "consent": 5}
    assert columns.unknown == ("来源渠道", "Mobile Phone (a second column for the same field)")
    assert map_headers(["编号", "姓名", "手机号码（必填）"]).index["phone"] == 2


def test_a_value_over_its_columns_length_refuses_the_row():
    with pytest.raises(ValueError, match="name is 5,000 characters long"):
        parse_row(2, {"code": "T1", "name": "x" * 5000, "phone": "13800000001"})
    with pytest.raises(ValueError, match="code is 65 characters long"):
        parse_row(2, {"code": "C" * 65, "name": "ok", "phone": "13800000001"})


def _slow_phone(text: str) -> str | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) \
        if phonenumbers.is_valid_number(number) else None


@given(st.from_regex(r"1[0-9]{10}", fullmatch=True), st.sampled_from(["{n}", "+86 {n}", "0086{n}", "+86-{n}"]))
def test_the_mobile_fast_path_agrees_with_phonenumbers(number, fmt):
    text = fmt.format(n=number)
    try:
        fast = normalise_phone(text)
    except ValueError:
        fast = None
    assert fast == _slow_phone(text)


@given(st.emails())
def test_the_email_fast_path_agrees_with_email_validator(address):
    from email_validator import EmailNotValidError, validate_email

    try:
        slow = validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        slow = None
    try:
        fast = normalise_email(address)
    except ValueError:
        fast = None
    assert fast == slow
