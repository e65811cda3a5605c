"""The registry's open/locked deadline and its change counter."""

from __future__ import annotations

from storage.errors import translated
from storage.models import RegistryState

_THE_ROW = RegistryState.id == RegistryState.SINGLETON_ID


@translated
def open_until() -> float | None:
    """The stored deadline (epoch seconds) until which the registry is open."""
    return RegistryState.select(RegistryState.open_until).where(_THE_ROW).scalar()


@translated
def set_open_until(deadline: float | None) -> None:
    RegistryState.update(open_until=deadline).where(_THE_ROW).execute()


@translated
def next_revision() -> int:
    """Bump and return the change counter; call inside the write transaction."""
    return (
        RegistryState.update(revision=RegistryState.revision + 1)
        .where(_THE_ROW)
        .returning(RegistryState.revision)
        .execute()[0]
        .revision
    )


@translated
def current_revision() -> int:
    return RegistryState.select(RegistryState.revision).where(_THE_ROW).scalar()
