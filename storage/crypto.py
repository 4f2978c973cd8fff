"""Encryption at rest and keyed hashes for customer personal data (care-domain §8, PIPL).

- Values are sealed with AES-256-GCM (authenticated encryption, `cryptography`), a fresh 96-bit nonce each
  time, and the column's purpose (e.g. ``customer.name``) as associated data, so a value copied into another
  column does not decrypt. Stored text: ``c1.<key id>.<base64url(nonce + ciphertext + tag)>``.
- Keys come from ``CAREBOT_SECRET_KEY`` (the current key, at least 32 characters; ``carebot keys generate``
  makes one) and ``CAREBOT_SECRET_KEY_OLD`` (comma-separated earlier keys, kept only while ``carebot keys
  rotate`` runs). The encryption key, the hashing key and the 8-hex-digit key id are derived from the secret
  with HKDF-SHA256, so one secret is all an operator keeps.
- Exact-match lookups (phone, email) and the name search go through HMAC-SHA256 under the hashing key
  (a blind index): the database holds no plaintext, yet equal inputs give equal hashes. Lookups try every
  configured key, so they keep working while a rotation is half done.
- A stored value without the ``c1.`` prefix is a row written before encryption (migration 0007); it reads as
  is until ``carebot keys rotate`` seals it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "c1."
MIN_SECRET_LENGTH = 32
TOKEN_BYTES = 8  # blind-index hashes are truncated: 16 hex digits, verified against the decrypted value anyway


class KeyProblem(RuntimeError):
    """No key, a key too short, or a value sealed under a key that is not configured. The message says what
    to do; the CLI prints it without a traceback."""


def _derive(secret: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)


@dataclass(frozen=True, eq=False)
class Key:
    kid: str
    aead: AESGCM
    mac: bytes

    @classmethod
    def from_secret(cls, secret: str) -> Key:
        secret = secret.strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise KeyProblem(f"CAREBOT_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters "
                             "(make one with `carebot keys generate`)")
        raw = secret.encode()
        return cls(kid=_derive(raw, b"carebot key id", 4).hex(), aead=AESGCM(_derive(raw, b"carebot aes-gcm")),
                   mac=_derive(raw, b"carebot blind index"))

    def seal(self, purpose: str, text: str) -> str:
        nonce = os.urandom(12)
        sealed = self.aead.encrypt(nonce, text.encode(), purpose.encode())
        return f"{PREFIX}{self.kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def token(self, purpose: str, text: str) -> str:
        mac = self._mac.copy()  # the keyed state copied, not the key set up again for each of 10^5 tokens
        mac.update(f"{purpose}\x00{text}".encode())
        return mac.digest()[:TOKEN_BYTES].hex()

    @functools.cached_property
    def _mac(self) -> hmac.HMAC:
        return hmac.new(self.mac, digestmod=hashlib.sha256)


class Keyring:
    """The current key (seals every new value) and earlier keys (still open values until rotated)."""

    def __init__(self, current: str, old: tuple[str, ...] = ()):
        self._secrets = (current, tuple(old))
        self.current = Key.from_secret(current)
        self.keys = [self.current] + [Key.from_secret(s) for s in old if s.strip()]
        self._by_kid = {k.kid: k for k in self.keys}

    def __reduce__(self):
        """Pickled as its secrets: how the serving process hands its keys to its own worker processes
        (bot/offload.py, over a pipe between the two)."""
        return Keyring, self._secrets

    def seal(self, purpose: str, text: str) -> str:
        return self.current.seal(purpose, text)

    def open(self, purpose: str, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before encryption; `carebot keys rotate` seals it
        try:
            kid, body = stored[len(PREFIX):].split(".", 1)
        except ValueError:
            raise KeyProblem(f"a {purpose} value is damaged") from None
        key = self._by_kid.get(kid)
        if key is None:
            raise KeyProblem(f"a {purpose} value is sealed under key {kid}, which is not configured: "
                             "set the key it was written with in CAREBOT_SECRET_KEY_OLD")
        raw = base64.urlsafe_b64decode(body)
        try:
            return key.aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except InvalidTag:
            raise KeyProblem(f"a {purpose} value does not authenticate (tampered, or moved between columns)"
                             ) from None

    def is_current(self, stored: str | None) -> bool:
        return stored is None or stored.startswith(f"{PREFIX}{self.current.kid}.")

    def token(self, purpose: str, text: str) -> str:
        """The hash under the current key: what is stored."""
        return self.current.token(purpose, text)

    def tokens(self, purpose: str, text: str) -> list[str]:
        """The hash under every configured key: what a lookup searches for."""
        return [k.token(purpose, text) for k in self.keys]


_lock = threading.Lock()
_keyring: Keyring | None = None


def use_keyring(keyring: Keyring | None) -> None:
    """Set the process's keys explicitly (the demo, tests of rotation); None reloads from the environment."""
    global _keyring
    with _lock:
        _keyring = keyring


def keyring() -> Keyring:
    """The process's keys, read once from the settings (CAREBOT_SECRET_KEY, CAREBOT_SECRET_KEY_OLD)."""
    global _keyring
    if _keyring is None:
        from bot.settings import Settings

        settings = Settings.from_env()
        if not settings.secret_key:
            raise KeyProblem("CAREBOT_SECRET_KEY is not set: customer data is stored encrypted and needs a key. "
                             "Make one with `carebot keys generate`, keep it safe, and export it.")
        with _lock:
            _keyring = Keyring(settings.secret_key, settings.old_secret_keys)
    return _keyring


# --- what is hashed --------------------------------------------------------------------------------


def normal_email(email: str) -> str:
    return email.strip().lower()


def normal_name(text: str) -> str:
    """Search form of a name: NFKC, case folded, without spaces (张 女士 = 张女士, ALICE = alice)."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


GRAM = 3


def name_grams(name: str) -> set[str]:
    """Every 1-, 2- and 3-character piece of the name: a query of up to three characters is one of them."""
    text = normal_name(name)
    return {text[i:i + n] for n in range(1, GRAM + 1) for i in range(len(text) - n + 1)}


def query_grams(query: str) -> set[str]:
    """The pieces a name must have to contain the query (a superset test; the caller checks the name)."""
    text = normal_name(query)
    if len(text) <= GRAM:
        return {text} if text else set()
    return {text[i:i + GRAM] for i in range(len(text) - GRAM + 1)}


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else value.isoformat()
