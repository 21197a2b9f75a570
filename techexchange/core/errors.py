"""One family of domain errors with stable codes; the API and the web map them in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["Conflict", "DomainError", "NotFound", "PermissionDenied", "Problem", "ValidationFailed"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: a stable code, a message and the field it concerns."""

    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready dict."""
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            data["field"] = self.field
        if self.details:
            data["details"] = self.details
        return data


class DomainError(Exception):
    """A refusal by a business rule; `status` is the HTTP status the API answers with."""

    status = 422
    code = "refused"

    def __init__(self, message: str, *, problems: list[Problem] | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])
        if code:
            self.code = code
        elif self.problems:
            self.code = self.problems[0].code

    @property
    def codes(self) -> list[str]:
        """The stable codes of every problem (or the error's own code)."""
        return [p.code for p in self.problems] or [self.code]

    def as_dict(self) -> dict[str, Any]:
        """Return the error in the API's `{code, message, details}` shape."""
        return {
            "code": self.code,
            "message": self.message,
            "details": [p.as_dict() for p in self.problems],
        }


class ValidationFailed(DomainError):
    """Input that breaks a rule: one or more problems, each naming its field."""

    status = 422
    code = "invalid"


class PermissionDenied(DomainError):
    """The actor may not do this."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """The object does not exist, or the actor may not know that it does."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The write collides with the current state (a taken slot, a duplicate)."""

    status = 409
    code = "conflict"
