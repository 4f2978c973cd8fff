"""Free text shown outside the authorised circle (a complaint description or a call's feedback in a channel
post) with the phone numbers and email addresses people type into it masked (care-domain §8)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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
    text = _mask_names(text, tuple(sorted({n.strip() for n in names if n and n.strip()})))
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    pieces, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        pieces += [text[last:match.start],
                   mask_phone(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))]
        last = match.end
    return "".join(pieces) + text[last:]


# --- names in free text ------------------------------------------------------------------------------------
# A name is found however it is typed: in another case or width (ＡＬＩＣＥ, alice), composed or not (é, e + ◌́),
# with spaces (ASCII, U+3000, no-break) between the characters of a name in a script written without spaces
# (张 女士, 张　女士), more or other spaces where the name has one (Alice  Wang), invisible characters anywhere
# (zero-width spaces). What stays as the matcher had it: only a whole name of two characters or more is masked (a
# one-character name, such as a surname alone, would mask that character in every word), longer names first;
# and a name in an alphabetic script only as whole words (Ann is not masked in Annual, Ma Li not in Mali).

_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"  # soft hyphen, zero-width (non-)joiners and spaces
_SPACE = f"[\\s{_INVISIBLE}]"
# scripts written without spaces between words: CJK (radicals, kana, ideographs, compatibility ideographs and the
# supplementary planes' ideographs), Thai, Lao, Myanmar, Khmer
_UNSPACED = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
_WORD = f"(?:[^\\W{_UNSPACED}]|[\u0300-\u036f])"  # a letter or digit of a spaced script, or a combining mark


def _fold(ch: str) -> str:
    """One character as the matcher compares it: compatibility-decomposed (full-width letters, U+3000) and
    case-folded."""
    return unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", ch).casefold())


def _unspaced(ch: str) -> bool:
    return re.match(f"[{_UNSPACED}]", ch) is not None


def _spaced_word(ch: str) -> bool:
    return re.fullmatch(_WORD, ch) is not None


def _name_pattern(name: str) -> str | None:
    """The regular expression of one name over folded text; None for a name of fewer than two characters."""
    chars: list[tuple[str, bool]] = []  # (folded character, a space before it in the name)
    spaced = False
    for ch in "".join(_fold(c) for c in name):
        if re.fullmatch(_SPACE, ch):
            spaced = True
            continue
        chars.append((ch, spaced and bool(chars)))
        spaced = False
    if len(chars) < 2:
        return None
    parts = [re.escape(chars[0][0])]
    for (before, _), (ch, space) in zip(chars, chars[1:], strict=False):
        if _unspaced(before) or _unspaced(ch):
            parts.append(f"{_SPACE}*")  # 张 女士, 张　女士, A公司陈总 for A公司 陈总
        elif space:
            parts.append(f"{_SPACE}+")  # Alice  Wang, Alice\u3000Wang
        else:
            parts.append(f"[{_INVISIBLE}]*")  # within a word: only what nobody sees
        parts.append(re.escape(ch))
    head = f"(?<!{_WORD})" if _spaced_word(chars[0][0]) else ""
    tail = f"(?!{_WORD})" if _spaced_word(chars[-1][0]) else ""
    return head + "".join(parts) + tail


@lru_cache(maxsize=1024)
def _names_matcher(names: tuple[str, ...]) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
    """One pattern for all `names`, longest first, a group per name, and the mask of each group."""
    found = [(len(pattern), pattern, name) for name in names if (pattern := _name_pattern(name)) is not None]
    if not found:
        return None, ()
    found.sort(key=lambda f: -f[0])
    pattern = "|".join(f"({p})" for _, p, _ in found)
    return re.compile(pattern), tuple(mask_name(name) for _, _, name in found)


def _mask_names(text: str, names: tuple[str, ...]) -> str:
    matcher, masks = _names_matcher(names)
    if matcher is None:
        return text
    folded, owner = [], []  # the folded text, and for each of its characters the index of the one it came from
    for i, ch in enumerate(text):
        piece = _fold(ch)
        folded.append(piece)
        owner += [i] * len(piece)
    pieces, last = [], 0
    for match in matcher.finditer("".join(folded)):
        if match.end() == match.start():
            continue
        start, end = owner[match.start()], owner[match.end() - 1] + 1
        if start < last:
            continue
        pieces += [text[last:start], masks[match.lastindex - 1]]
        last = end
    return "".join(pieces) + text[last:]
