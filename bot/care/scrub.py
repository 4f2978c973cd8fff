"""Free text shown outside the authorised circle (a complaint description or a call's feedback in a channel
post) with the phone numbers and email addresses people type into it masked (care-domain §8)."""

from __future__ import annotations

import re

import phonenumbers

from bot.care.privacy import mask_name, mask_phone

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_email(email: str | None) -> str:
    """alice@example.com -> a***@example.com."""
    if not email or "@" not in email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def scrub(text: str | None, *names: str | None, region: str = "CN") -> str:
    """The text with every valid phone number masked like a phone field (138****5678), every email address
    masked (a***@example.com) and each of `names` (the customer's) masked like a name (张*). Order numbers and
    amounts that are not valid phone numbers stay."""
    if not text:
        return ""
    for name in sorted({n.strip() for n in names if n and len(n.strip()) > 1}, key=len, reverse=True):
        text = text.replace(name, mask_name(name))
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    pieces, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        pieces += [text[last:match.start],
                   mask_phone(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))]
        last = match.end
    return "".join(pieces) + text[last:]
