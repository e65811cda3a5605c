"""What every decision on a request shares, a grant's and a rejection's alike: it applies to
the request that was reviewed, and a bulk decision gives one result per name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from server.outcomes import Refused
from server.queries import load
from server.views import Decision, ReviewedRequest
from storage.records import RegistrationRecord

T = TypeVar("T")


def load_reviewed(username: str, reviewed: ReviewedRequest | None) -> RegistrationRecord:
    """The registration a decision is about; Refused when it is not the one reviewed.

    Ids are never reused, so a request deleted (or expired) and registered anew
    under the same name, say by an impostor while the review was open, is
    another request, and so is one whose content changed."""
    registration = load(username)
    if reviewed is not None and reviewed != ReviewedRequest(registration.id, registration.request_digest):
        raise Refused(f"the request of {registration.username} that was reviewed was deleted, expired or "
                      "replaced meanwhile; nothing changed: review the current one")
    return registration


def attempt(username: str, step: Callable[[], T]) -> T | Decision:
    """``step``'s result, or the refused Decision of ``username`` when it refuses."""
    try:
        return step()
    except Refused as refusal:
        return Decision(username, refusal=str(refusal))
