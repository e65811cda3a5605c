"""Leases on the chores that must run once for the whole registry, whichever instances
share its database (server.chores)."""

from __future__ import annotations

from storage.database import write_transaction
from storage.errors import translated
from storage.models import ChoreLease


@translated
def take(name: str, holder: str, now: float, until: float) -> bool:
    """Whether ``holder`` has the chore ``name`` until ``until``: it held it already, or
    nobody did, or the last holder's lease ran out (that instance stopped or hangs)."""
    with write_transaction():
        lease = ChoreLease.get_or_none(ChoreLease.name == name)
        if lease is None:
            ChoreLease.insert(name=name, holder=holder, until=until).execute()
            return True
        if lease.holder != holder and lease.until > now:
            return False
        ChoreLease.update(holder=holder, until=until).where(ChoreLease.name == name).execute()
        return True


@translated
def give_up(holder: str) -> None:
    """A stopping instance hands its chores over at once rather than when its leases run out."""
    with write_transaction():
        ChoreLease.delete().where(ChoreLease.holder == holder).execute()
