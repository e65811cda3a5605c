"""The storage layer's own errors: what callers above may catch instead of peewee's.

Everything that leaves ``storage`` as an exception is one of these, so the core,
the CLI and the window never import the database library to recognise a
failure.
"""

from __future__ import annotations

import functools

from peewee import DatabaseError, IntegrityError


class StorageError(Exception):
    """The database could not do what was asked."""


class DatabaseUnavailable(StorageError):
    """Busy past the timeout, read-only, out of space, or damaged; the message says which."""


class UsernameTaken(StorageError):
    """Another registration already holds this username (in any case)."""


class PublicKeyTaken(StorageError):
    """Another registration already holds this CSR's public key."""


class ConstraintBroken(StorageError):
    """A write broke a rule of the schema that the code checks first; a bug, or a race the checks missed."""


def translate(error: DatabaseError) -> StorageError:
    """This module's error for peewee's ``error``, told by what started it.

    On a full disk SQLite rolls the transaction back by itself, and peewee's own
    rollback then fails with "cannot rollback - no transaction is active": the
    first error in the chain says why."""
    link = error.__context__
    while link is not None:  # through the driver's own exceptions that peewee wraps
        if isinstance(link, (DatabaseError, StorageError)):
            error = link
        link = link.__context__
    if isinstance(error, StorageError):
        return error
    # One line: the PostgreSQL driver's messages carry hints on lines of their own.
    message = " ".join(str(error).split())
    if isinstance(error, IntegrityError):
        return ConstraintBroken(message)
    return DatabaseUnavailable(message)


def translated(function):
    """Raise this module's errors instead of peewee's from ``function``."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except DatabaseError as error:
            raise translate(error) from error

    return wrapper
