"""Strict parsing of a registration request body.

Only cheap checks live here (shape, types, lengths, character sets); the CSR
itself is checked later, in ``server.csr``, and only when the answer depends
on it. Every failure names the field and the rule it broke.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass

from server.statuses import VIA_API

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 6  # top object > permissions list > permission object, with room for a context
MAX_CONTEXT_BYTES = 4 * 1024
MAX_ROLES = 32
MAX_PERMISSIONS = 64
MAX_RESOURCE_CHARS = 256

USERNAME_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.]*", re.ASCII)
# Valid UTF-8 cannot hold a lone surrogate: in JSON text one can only be spelled as an escape.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
OPERATIONS = ("read", "write", "readWrite")
PERMISSION_CONTEXTS = ("mqtt", "http")
FIELDS = ("username", "password", "context", "roles", "permissions", "csr")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidRequest(Exception):
    """The body or one of its fields breaks a rule; carries every broken rule."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(map(str, errors)))


@dataclass(frozen=True)
class Permission:
    resource: str
    operation: str
    context: str

    def to_json(self) -> dict:
        return {"resource": self.resource, "operation": self.operation, "context": self.context}

    @classmethod
    def from_json(cls, value: dict) -> Permission:
        return cls(value["resource"], value["operation"], value["context"])


@dataclass(frozen=True)
class RegistrationRequest:
    username: str
    password: str
    context: str | dict | None
    roles: tuple[str, ...]
    permissions: tuple[Permission, ...]
    csr_pem: str | None
    # Which adapter it came through (server.statuses: VIA_API, VIA_EST). Not part of
    # the digest: the same request re-sent through the other adapter is a poll.
    enrolled_via: str = VIA_API

    def digest(self) -> str:
        """SHA-256 over everything a pending request must not change.

        Order of roles and permissions does not matter, nor does how the CSR's
        PEM is wrapped: only what the administrator would see.
        """
        canonical = {
            "context": self.context,
            "roles": sorted(self.roles),
            "permissions": sorted(
                [p.resource, p.operation, p.context] for p in self.permissions
            ),
            "csr": None if self.csr_pem is None else "".join(self.csr_pem.split()),
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()


def is_json_content_type(content_type: str | None) -> bool:
    """``application/json``, optionally with ``charset=utf-8``."""
    if not content_type:
        return False
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() != "application/json":
        return False
    charset = params.strip().lower()
    return charset in ("", "charset=utf-8", 'charset="utf-8"')


def parse_registration(body: bytes) -> RegistrationRequest:
    """Parse and check a registration body; raise InvalidRequest listing every problem."""
    document = parse_json_object(body)
    errors: list[FieldError] = []
    errors += [FieldError(key, "is not a known field") for key in document if key not in FIELDS]

    username = _required_string(document, "username", errors)
    if username is not None and (problem := username_problem(username)):
        errors.append(FieldError("username", problem))

    password = _required_string(document, "password", errors)
    if password is not None and (problem := password_problem(password)):
        errors.append(FieldError("password", problem))

    context = _context(document.get("context"), errors)
    roles = _roles(document.get("roles", []), errors)
    permissions = _permissions(document.get("permissions", []), errors)

    csr_pem = document.get("csr")
    if csr_pem is not None and not isinstance(csr_pem, str):
        errors.append(FieldError("csr", "must be a string holding one PEM CERTIFICATE REQUEST"))

    if errors:
        raise InvalidRequest(errors)
    return RegistrationRequest(username, password, context, roles, permissions, csr_pem)


def parse_renewal(body: bytes) -> str:
    """The CSR of a renewal body ``{"csr": PEM}``; InvalidRequest otherwise."""
    document = parse_json_object(body)
    errors = [FieldError(key, "is not a known field") for key in document if key != "csr"]
    csr_pem = _required_string(document, "csr", errors)
    if errors:
        raise InvalidRequest(errors)
    return csr_pem


def parse_grantable(roles: list, permissions: list) -> tuple[tuple[str, ...], tuple[Permission, ...]]:
    """Roles and permissions given outside a registration body (a pre-authorisation), checked
    by the same rules as a request's; raise InvalidRequest listing every problem."""
    errors: list[FieldError] = []
    checked = _roles(roles, errors), _permissions(permissions, errors)
    if errors:
        raise InvalidRequest(errors)
    return checked


def username_problem(username: str) -> str | None:
    """What is wrong with ``username``, whatever wire format it came in; None if nothing."""
    if not 3 <= len(username) <= 64:
        return "must be 3 to 64 characters long"
    if not USERNAME_PATTERN.fullmatch(username):
        return "may contain only ASCII letters, digits, '_' and '.', and must start with a letter or digit"
    return None


def password_problem(password: str) -> str | None:
    if not 5 <= len(password) <= 1024:
        return "must be 5 to 1024 characters long"
    return None


def parse_json_object(body: bytes) -> dict:
    """Decode UTF-8 JSON strictly: one object, no duplicate keys, no NaN,
    no lone surrogates, nested at most MAX_JSON_DEPTH levels."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _body_error("is not valid UTF-8") from None
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except _JSONRuleBroken as broken:
        raise _body_error(str(broken)) from None
    except RecursionError:
        raise _body_error(f"is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as error:  # JSONDecodeError, and int() past its digit limit
        raise _body_error(f"is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise _body_error("must be a JSON object")
    # A document nests no deeper than it has brackets, and its strings are valid Unicode when
    # no escape spells a surrogate: a body with neither (every poll the enrolment tool sends)
    # needs no walk, which would be a third of parsing it.
    if _SURROGATE_ESCAPE.search(text) or text.count("{") + text.count("[") > MAX_JSON_DEPTH:
        _check_depth_and_text(document)
    return document


class _JSONRuleBroken(ValueError):
    pass


def _body_error(message: str) -> InvalidRequest:
    return InvalidRequest([FieldError("body", message)])


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise _JSONRuleBroken(f"has the key {duplicate!r} more than once")
    return document


def _refuse_constant(name: str):
    raise _JSONRuleBroken(f"holds {name}, which is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _JSONRuleBroken(f"holds the number {text[:20]}, which is out of range")
    return value


def _check_depth_and_text(document: dict) -> None:
    """Walk the tree once: nesting depth, and strings that are not valid
    Unicode (JSON escapes can spell lone surrogates, which UTF-8 cannot hold)."""
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not _is_valid_unicode(value):
                raise _body_error("holds a string with a lone surrogate, which is not valid Unicode")
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise _body_error(f"is nested more than {MAX_JSON_DEPTH} levels deep")
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)


def _is_valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _required_string(document: dict, field: str, errors: list[FieldError]) -> str | None:
    value = document.get(field)
    if value is None:
        errors.append(FieldError(field, "is required"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError(field, "must be a string"))
        return None
    return value


def _context(value, errors: list[FieldError]):
    if value is None:
        return None
    if not isinstance(value, (str, dict)):
        errors.append(FieldError("context", "must be a string or a JSON object"))
        return None
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_CONTEXT_BYTES:
        errors.append(FieldError("context", f"must be at most {MAX_CONTEXT_BYTES} bytes as JSON, not {size}"))
        return None
    return value


def _roles(value, errors: list[FieldError]) -> tuple[str, ...]:
    if not isinstance(value, list):
        errors.append(FieldError("roles", "must be a list of role names"))
        return ()
    if len(value) > MAX_ROLES:
        errors.append(FieldError("roles", f"must hold at most {MAX_ROLES} roles"))
        return ()
    roles: list[str] = []
    for index, role in enumerate(value):
        field = f"roles[{index}]"
        if not isinstance(role, str):
            errors.append(FieldError(field, "must be a string"))
        elif not 1 <= len(role) <= 64:
            errors.append(FieldError(field, "must be 1 to 64 characters long"))
        elif not role.isprintable():
            errors.append(FieldError(field, "must hold printable characters only"))
        elif role in roles:
            errors.append(FieldError(field, f"repeats the role {role!r}"))
        else:
            roles.append(role)
    return tuple(roles)


def _permissions(value, errors: list[FieldError]) -> tuple[Permission, ...]:
    if not isinstance(value, list):
        errors.append(FieldError("permissions", "must be a list of permission objects"))
        return ()
    if len(value) > MAX_PERMISSIONS:
        errors.append(FieldError("permissions", f"must hold at most {MAX_PERMISSIONS} permissions"))
        return ()
    permissions: list[Permission] = []
    for index, item in enumerate(value):
        field = f"permissions[{index}]"
        if not isinstance(item, dict):
            errors.append(FieldError(field, "must be an object with resource, operation and context"))
            continue
        problems = [FieldError(f"{field}.{key}", "is not a known field")
                    for key in item if key not in ("resource", "operation", "context")]
        resource = item.get("resource")
        if not isinstance(resource, str) or not 1 <= len(resource) <= MAX_RESOURCE_CHARS:
            problems.append(FieldError(f"{field}.resource", f"must be a string of 1 to {MAX_RESOURCE_CHARS} characters"))
        elif not resource.isprintable():
            problems.append(FieldError(f"{field}.resource", "must hold printable characters only"))
        if item.get("operation") not in OPERATIONS:
            problems.append(FieldError(f"{field}.operation", "must be one of read, write, readWrite"))
        if item.get("context") not in PERMISSION_CONTEXTS:
            problems.append(FieldError(f"{field}.context", "must be one of mqtt, http"))
        if problems:
            errors.extend(problems)
            continue
        permission = Permission(resource, item["operation"], item["context"])
        if permission in permissions:
            errors.append(FieldError(field, "repeats an earlier permission"))
        else:
            permissions.append(permission)
    return tuple(permissions)
