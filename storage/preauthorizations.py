"""Queries on pre-authorised devices (``storage.models.Preauthorization``)."""

from __future__ import annotations

from dataclasses import fields

from storage.compiled import compiled, slot
from storage.database import write_transaction
from storage.errors import translated
from storage.models import Preauthorization
from storage.records import PreauthorizationRecord

_COLUMNS = [getattr(Preauthorization, field.name) for field in fields(PreauthorizationRecord)]


@translated
def find(username: str) -> PreauthorizationRecord | None:
    """The pre-authorisation for ``username`` (compared without regard to case), used or not."""
    row = _select_by_username().execute(username=username).fetchone()
    return None if row is None else PreauthorizationRecord(*(column.python_value(stored)
                                                             for column, stored in zip(_COLUMNS, row)))


@compiled
def _select_by_username():
    """Every new registration with a CSR looks its username up here: compiled once."""
    return Preauthorization.select(*_COLUMNS).where(Preauthorization.username == slot("username")).limit(1)


@translated
def listed() -> list[PreauthorizationRecord]:
    query = Preauthorization.select(*_COLUMNS).order_by(Preauthorization.id).tuples()
    return [PreauthorizationRecord(*row) for row in query]


@translated
def put(**values) -> bool:
    """Store a pre-authorisation, replacing any other for the same username; whether one was replaced."""
    with write_transaction():
        replaced = Preauthorization.delete().where(Preauthorization.username == values["username"]).execute()
        Preauthorization.insert(**values).execute()
    return replaced == 1


@translated
def remove(username: str) -> bool:
    with write_transaction():
        return Preauthorization.delete().where(Preauthorization.username == username).execute() == 1


@translated
def use(preauthorization_id: int, now: float) -> bool:
    """Mark it used, only if it is unused and unexpired; whether this call did. Call inside
    the grant's write transaction: of two racing requests, one finds it used."""
    unexpired = Preauthorization.expires_at.is_null() | (Preauthorization.expires_at > now)
    return Preauthorization.update(used_at=now).where(
        (Preauthorization.id == preauthorization_id) & Preauthorization.used_at.is_null() & unexpired
    ).execute() == 1

