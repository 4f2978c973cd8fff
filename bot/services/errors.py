"""Errors a person sees. Each carries a catalog key, so the handler can say it in their language."""

from __future__ import annotations

from typing import Any


class CareError(Exception):
    def __init__(self, key: str, **params: Any):
        super().__init__(key)
        self.key = key
        self.params = params


class NotRegistered(CareError):
    def __init__(self) -> None:
        super().__init__("errors.not_registered")


class Forbidden(CareError):
    pass


class FormErrors(Exception):
    """Inline modal errors: block_id -> (catalog key, params)."""

    def __init__(self, errors: dict[str, tuple[str, dict[str, Any]]]):
        super().__init__(", ".join(errors))
        self.errors = errors
