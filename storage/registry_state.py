"""The registry's one row of state: the open/locked deadline, its counters, the current CRL, its CA."""

from __future__ import annotations

import itertools

from storage.compiled import compiled
from storage.database import after_commit, write_transaction
from storage.errors import translated
from storage.models import RegistryState

_THE_ROW = RegistryState.id == RegistryState.SINGLETON_ID
_decided_here = itertools.count(1)  # next() is atomic: server threads commit decisions side by side
_decisions_here = 0


@translated
def open_until() -> float | None:
    """The stored deadline (epoch seconds) until which the registry is open."""
    return _select_open_until().execute().fetchall()[0][0]


@compiled
def _select_open_until():
    """Every new registration asks whether the registry is open: compiled once."""
    return RegistryState.select(RegistryState.open_until).where(_THE_ROW)


@translated
def set_open_until(deadline: float | None) -> None:
    RegistryState.update(open_until=deadline).where(_THE_ROW).execute()


@translated
def next_revision() -> int:
    """Bump and return the change counter; call inside the write transaction."""
    # fetchall: the statement runs to its end, so nothing is left open when the transaction commits.
    return _bump_revision().execute().fetchall()[0][0]


@compiled
def _bump_revision():
    """Every change to a registration runs this (a decision, ``_bump_revision_and_decisions``): compiled once."""
    return RegistryState.update(revision=RegistryState.revision + 1).where(_THE_ROW).returning(RegistryState.revision)


@translated
def current_revision() -> int:
    return RegistryState.select(RegistryState.revision).where(_THE_ROW).scalar()


@translated
def next_registration_id() -> int:
    """A registration id never handed out before; call inside the write transaction."""
    return (
        RegistryState.update(last_registration_id=RegistryState.last_registration_id + 1)
        .where(_THE_ROW)
        .returning(RegistryState.last_registration_id)
        .execute()[0]
        .last_registration_id
    )


@translated
def current_crl() -> tuple[int, bytes | None, float | None]:
    """(number, DER, next update) of the CRL issued last; (0, None, None) before the first."""
    row = (RegistryState.select(RegistryState.crl_number, RegistryState.crl_der, RegistryState.crl_next_update)
           .where(_THE_ROW).tuples().get())
    return row[0], None if row[1] is None else bytes(row[1]), row[2]


@translated
def store_crl(number: int, der: bytes, next_update: float) -> None:
    """Record a newly issued CRL; call inside the write transaction that chose ``number``."""
    RegistryState.update(crl_number=number, crl_der=der, crl_next_update=next_update).where(_THE_ROW).execute()


@translated
def record_ca(certificate_der: bytes) -> bytes:
    """The CA certificate recorded for this registry: ``certificate_der`` if none was yet
    (then it is recorded), else the one recorded first."""
    with write_transaction():
        recorded = RegistryState.select(RegistryState.ca_certificate).where(_THE_ROW).scalar()
        if recorded is None:
            RegistryState.update(ca_certificate=certificate_der).where(_THE_ROW).execute()
            return certificate_der
        return bytes(recorded)


@translated
def ca_recorded() -> bool:
    return RegistryState.select(RegistryState.ca_certificate).where(_THE_ROW).scalar() is not None


@translated
def next_revision_of_a_decision() -> int:
    """``next_revision`` when a pending request ended (granted, rejected) or a request was
    deleted: the decisions counter is bumped too, for every process, in the same statement.
    Call inside the write transaction."""
    revision = _bump_revision_and_decisions().execute().fetchall()[0][0]
    after_commit(_decided_in_this_process)
    return revision


def _decided_in_this_process() -> None:
    global _decisions_here
    _decisions_here = next(_decided_here)


def decisions_in_this_process() -> int:
    """How many decisions this process has committed: changes as soon as one has, without a query."""
    return _decisions_here


@translated
def decisions() -> int:
    """The decisions counter: changes whenever any process or instance commits a decision."""
    return _read_decisions().execute().fetchall()[0][0]


@compiled
def _bump_revision_and_decisions():
    return (RegistryState.update(revision=RegistryState.revision + 1, decisions=RegistryState.decisions + 1)
            .where(_THE_ROW).returning(RegistryState.revision))


@compiled
def _read_decisions():
    return RegistryState.select(RegistryState.decisions).where(_THE_ROW)
