"""Property tests of request validation (server.validation), bounded and deterministic.

Strategies are built from SPEC's field rules, not from the code: whatever bytes
arrive, the parser answers with a value or InvalidRequest, never another
exception; documents that keep the rules are accepted unchanged; each broken
rule is reported against the field that broke it; and a request's digest sees
exactly what a pending request may not change.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.validation import (
    FIELDS,
    MAX_JSON_DEPTH,
    OPERATIONS,
    PERMISSION_CONTEXTS,
    InvalidRequest,
    Permission,
    RegistrationRequest,
    parse_json_object,
    parse_registration,
)
from tests.helpers import make_csr, make_key

BOUNDED = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.large_base_example])

# ------------------------------------------------------------------- SPEC's rules

USERNAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_."
# Letters and digits outside ASCII, look-alikes, separators: what a lax check lets through.
NEAR_MISSES = "_.-@/ \t\n\x00éßİıＡ١²\u212a\u00b5"
USERNAMES = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.]{2,63}", fullmatch=True)
# Any Unicode scalar value: JSON text can carry every code point but lone surrogates.
UNICODE = st.characters(exclude_categories=("Cs",))
# "Printable": no control, format, private-use, unassigned or separator characters but the space.
PRINTABLE = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")) | st.just(" ")


def sized_text(alphabet, low: int, high: int):
    """Text of low..high characters, with both edges as likely as the middle."""
    lengths = st.sampled_from([low, high]) | st.integers(low, min(high, low + 30))
    return lengths.flatmap(lambda n: st.text(alphabet, min_size=n, max_size=n))


PASSWORDS = sized_text(UNICODE, 5, 1024)
ROLES = st.lists(sized_text(PRINTABLE, 1, 64), max_size=32, unique=True)
PERMISSIONS = st.lists(
    st.fixed_dictionaries({
        "resource": sized_text(PRINTABLE, 1, 256),
        "operation": st.sampled_from(["read", "write", "readWrite"]),
        "context": st.sampled_from(["mqtt", "http"]),
    }),
    max_size=64,
    unique_by=lambda p: (p["resource"], p["operation"], p["context"]),
)
JSON_LEAVES = (st.none() | st.booleans() | st.integers(-(2**63), 2**63)
               | st.floats(allow_nan=False, allow_infinity=False) | st.text(UNICODE, max_size=20))
SMALL_OBJECTS = st.dictionaries(st.text(UNICODE, max_size=10), JSON_LEAVES, max_size=4)
# A context object and two levels below it: well inside the depth limit, well under 4 KiB.
SHALLOW_JSON = JSON_LEAVES | st.lists(JSON_LEAVES, max_size=4) | SMALL_OBJECTS
CONTEXTS = st.none() | st.text(UNICODE, max_size=200) | st.dictionaries(
    st.text(UNICODE, max_size=10), SHALLOW_JSON, max_size=4)
CSR_PEMS = [make_csr(f"device{n}", make_key(kind))[0] for n, kind in enumerate(("ec", "p384", "ed25519"))]
CSRS = st.none() | st.sampled_from(CSR_PEMS) | st.text(UNICODE, max_size=40)

VALID_DOCUMENTS = st.fixed_dictionaries(
    {"username": USERNAMES, "password": PASSWORDS},
    optional={"context": CONTEXTS, "roles": ROLES, "permissions": PERMISSIONS, "csr": CSRS},
)


def encode(document, ascii_only: bool = True) -> bytes:
    """JSON as a client would send it; ``surrogatepass`` lets a lone surrogate reach the wire
    as the invalid UTF-8 it would be."""
    return json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def refusal(body: bytes) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as refused:
        parse_registration(body)
    return [(error.field, error.message) for error in refused.value.errors]


def fields_refused(body: bytes) -> set[str]:
    return {field for field, _ in refusal(body)}


# --------------------------------------------------------- nothing but InvalidRequest


def answers_cleanly(body: bytes) -> None:
    """A RegistrationRequest, or InvalidRequest naming fields and saying why; nothing else."""
    try:
        request = parse_registration(body)
    except InvalidRequest as invalid:
        assert invalid.errors
        assert all(isinstance(error.field, str) and error.message for error in invalid.errors)
    else:
        assert isinstance(request, RegistrationRequest)


@BOUNDED
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_get_an_answer_or_invalid_request(body):
    answers_cleanly(body)


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(st.characters(), max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(st.characters(), max_size=8), inner,
                                                                max_size=4),
    max_leaves=30,
)


@BOUNDED
@given(ANY_JSON | st.dictionaries(st.sampled_from(FIELDS), ANY_JSON), st.booleans())
def test_arbitrary_json_gets_an_answer_or_invalid_request(document, ascii_only):
    # floats() brings NaN and infinities, characters() lone surrogates: both must be refused.
    answers_cleanly(encode(document, ascii_only))


@BOUNDED
@given(VALID_DOCUMENTS, st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=3)), min_size=1, max_size=4))
def test_corrupted_valid_documents_get_an_answer_or_invalid_request(document, edits):
    body = bytearray(encode(document, ascii_only=False))
    for position, replacement in edits:
        start = position % (len(body) + 1)
        body[start:start + len(replacement) // 2 + 1] = replacement
    answers_cleanly(bytes(body))


# --------------------------------------------------- valid documents, accepted as sent


@BOUNDED
@given(VALID_DOCUMENTS, st.booleans())
def test_valid_documents_are_accepted_with_their_fields_unchanged(document, ascii_only):
    request = parse_registration(encode(document, ascii_only))

    assert request.username == document["username"]
    assert request.password == document["password"]
    assert request.context == document.get("context")
    assert request.roles == tuple(document.get("roles", ()))
    assert request.permissions == tuple(Permission(**p) for p in document.get("permissions", ()))
    assert request.csr_pem == document.get("csr")


# ------------------------------------------------ each broken rule, named by its field


@BOUNDED
@given(VALID_DOCUMENTS, st.data())
def test_a_username_character_outside_the_set_is_refused(document, data):
    username = document["username"]
    index = data.draw(st.just(0) | st.integers(0, len(username) - 1))
    allowed = USERNAME_CHARS if index else USERNAME_CHARS[:-2]  # the first may not be '_' or '.'
    bad = data.draw(st.sampled_from(NEAR_MISSES).filter(lambda c: c not in allowed)
                    | UNICODE.filter(lambda c: c not in allowed))
    document["username"] = username[:index] + bad + username[index + 1:]

    assert fields_refused(encode(document)) == {"username"}


@BOUNDED
@given(VALID_DOCUMENTS, st.integers(0, 2) | st.integers(65, 200), st.data())
def test_a_username_of_the_wrong_length_is_refused(document, length, data):
    first = data.draw(st.sampled_from(USERNAME_CHARS[:-2]))
    document["username"] = (first + data.draw(st.text(USERNAME_CHARS, min_size=length, max_size=length)))[:length]

    assert refusal(encode(document)) == [("username", "must be 3 to 64 characters long")]


@BOUNDED
@given(VALID_DOCUMENTS, st.sampled_from(["\n", "\r\n", "\r", " ", "\t", "\x00"]))
def test_a_username_with_a_trailing_newline_or_space_is_refused(document, tail):
    document["username"] = document["username"][:64 - len(tail)] + tail

    assert fields_refused(encode(document)) == {"username"}


@BOUNDED
@given(VALID_DOCUMENTS, sized_text(UNICODE, 0, 4) | sized_text(UNICODE, 1025, 1100))
def test_a_password_of_the_wrong_length_is_refused(document, password):
    document["password"] = password

    assert refusal(encode(document)) == [("password", "must be 5 to 1024 characters long")]


@BOUNDED
@given(VALID_DOCUMENTS, st.integers(33, 64))
def test_more_than_32_roles_are_refused(document, count):
    document["roles"] = [f"role{n}" for n in range(count)]

    assert fields_refused(encode(document)) == {"roles"}


@BOUNDED
@given(VALID_DOCUMENTS, st.data())
def test_a_non_printable_role_or_resource_is_refused(document, data):
    unprintable = data.draw(st.characters(categories=("Cc", "Cf", "Co", "Cn", "Zl", "Zp", "Zs"))
                            .filter(lambda c: c != " "))
    document["roles"] = ["ok", "bad" + unprintable]
    document["permissions"] = [{"resource": unprintable, "operation": "read", "context": "http"}]

    assert fields_refused(encode(document)) == {"roles[1]", "permissions[0].resource"}


BAD_VALUES = (st.sampled_from(["Read", "READ", "readwrite", "read ", "delete", "admin", "MQTT", "https", "ws", ""])
              | st.text(UNICODE, max_size=12) | st.integers() | st.none() | st.booleans() | st.lists(st.integers()))


@BOUNDED
@given(VALID_DOCUMENTS, st.sampled_from(["operation", "context"]), BAD_VALUES, st.data())
def test_a_bad_permission_operation_or_context_is_refused(document, key, value, data):
    assume(value not in OPERATIONS + PERMISSION_CONTEXTS)
    permissions = document.get("permissions", [])
    index = data.draw(st.integers(0, min(len(permissions), 63)))
    bad = {"resource": "plant/bad", "operation": "read", "context": "mqtt", key: value}
    document["permissions"] = (permissions[:index] + [bad] + permissions[index:])[:64]

    assert fields_refused(encode(document)) == {f"permissions[{index}].{key}"}


@BOUNDED
@given(VALID_DOCUMENTS, st.text(UNICODE, max_size=20).filter(lambda key: key not in FIELDS), SHALLOW_JSON)
def test_an_unknown_field_is_refused_by_its_name(document, key, value):
    document[key] = value

    assert refusal(encode(document)) == [(key, "is not a known field")]


@BOUNDED
@given(VALID_DOCUMENTS, st.data())
def test_a_key_sent_twice_is_refused(document, data):
    """Top level or inside a permission: JSON that two parsers could read differently."""
    document["permissions"] = document.get("permissions") or [
        {"resource": "plant/x", "operation": "read", "context": "mqtt"}]
    where = data.draw(st.sampled_from(["top", "permission"]))
    if where == "top":
        pairs = list(document.items())
        key, value = data.draw(st.sampled_from(pairs))
        second = data.draw(st.just(value) | st.just("other"))
        body = _object_text(pairs + [(key, second)]).encode()
    else:
        permission = document["permissions"][0]
        key = data.draw(st.sampled_from(sorted(permission)))
        document["permissions"][0] = _RawJSON(_object_text(list(permission.items()) + [(key, permission[key])]))
        body = _object_text(list(document.items())).encode()

    assert refusal(body) == [("body", f"has the key {key!r} more than once")]


@BOUNDED
@given(VALID_DOCUMENTS, st.integers(1, 12) | st.integers(5000, 12000), JSON_LEAVES, st.randoms(use_true_random=False))
def test_nesting_deeper_than_the_limit_is_refused(document, levels, leaf, random):
    """The object itself is level 1 and the context object level 2, so a context
    wrapping ``levels - 1`` more containers reaches level ``levels + 1``. Thousands
    of levels make Python's json parser itself give up (RecursionError), which
    must be refused the same way."""
    inner: object = leaf
    for level in range(levels - 1):
        # Past a few levels, alternate: a random choice per level would overrun hypothesis' data buffer.
        inner = [inner] if (random.random() < 0.5 if levels <= 12 else level % 2) else {"k": inner}
    document["context"] = {"k": inner}

    if levels + 1 <= MAX_JSON_DEPTH:
        assert parse_registration(encode(document)).context == document["context"]
    else:
        assert fields_refused(_deep_json(document)) == {"body"}


@BOUNDED
@given(VALID_DOCUMENTS, st.characters(categories=("Cs",)), st.sampled_from(["password", "role", "context", "key"]),
       st.booleans())
def test_a_lone_surrogate_is_refused(document, surrogate, where, ascii_only):
    """As a \\uD800 escape, or as the raw (invalid) UTF-8 bytes of one."""
    if where == "password":
        document["password"] += surrogate
    elif where == "role":
        document["roles"] = [f"role{surrogate}"]
    elif where == "context":
        document["context"] = f"site {surrogate}"
    else:
        document["context"] = {surrogate: "value"}

    assert fields_refused(encode(document, ascii_only)) == {"body"}


@BOUNDED
@given(VALID_DOCUMENTS, st.sampled_from([math.nan, math.inf, -math.inf]) | st.sampled_from(["1e400", "-1e999"]))
def test_nan_and_infinite_numbers_are_refused(document, number):
    if isinstance(number, float):
        document["context"] = {"reading": number}  # json.dumps writes NaN, Infinity, -Infinity
        body = json.dumps(document).encode()
    else:
        document["context"] = {"reading": _RawJSON(number)}
        body = _object_text(list(document.items())).encode()

    assert fields_refused(body) == {"body"}


def test_parse_json_object_refuses_what_is_not_one_object():
    for body in (b"[]", b'"x"', b"1", b"null", b"{} {}", b"\xef\xbb\xbf{}", b""):
        with pytest.raises(InvalidRequest):
            parse_json_object(body)


# ------------------------------------------------------------------------------ digest


def digest(document) -> str:
    return parse_registration(encode(document)).digest()


@BOUNDED
@given(VALID_DOCUMENTS, st.randoms(use_true_random=False))
def test_digest_ignores_the_order_of_roles_permissions_and_context_keys(document, random):
    reordered = json.loads(json.dumps(document))
    for key in ("roles", "permissions"):
        if key in reordered:
            random.shuffle(reordered[key])
    if isinstance(reordered.get("context"), dict):
        items = list(reordered["context"].items())
        random.shuffle(items)
        reordered["context"] = dict(items)

    assert digest(reordered) == digest(document)


@BOUNDED
@given(VALID_DOCUMENTS, st.sampled_from(CSR_PEMS), st.integers(1, 200), st.sampled_from(["\n", "\r\n"]),
       st.sampled_from(["", "\n", "\r\n", "\n\n", " \n"]))
def test_digest_ignores_how_the_csr_is_wrapped(document, pem, width, newline, trailer):
    document["csr"] = pem
    rewrapped = dict(document, csr=_rewrap(pem, width, newline) + trailer)

    assert digest(rewrapped) == digest(document)


CHANGES = ["add role", "drop role", "permission operation", "permission resource", "context", "csr key",
           "csr byte"]


@BOUNDED
@given(VALID_DOCUMENTS, st.sampled_from(CHANGES), st.data())
def test_digest_changes_with_any_change_of_content(document, change, data):
    document.setdefault("roles", ["base"])
    # An empty list too: the permission changes below need one to change.
    document["permissions"] = document.get("permissions") or [
        {"resource": "plant/base", "operation": "read", "context": "mqtt"}]
    document["csr"] = data.draw(st.sampled_from(CSR_PEMS))
    changed = json.loads(json.dumps(document))
    if change == "add role":
        changed["roles"] = (changed["roles"] + [data.draw(sized_text(PRINTABLE, 1, 64)
                                                           .filter(lambda r: r not in document["roles"]))])[-32:]
    elif change == "drop role" and document["roles"]:
        changed["roles"].pop(data.draw(st.integers(0, len(document["roles"]) - 1)))
    elif change == "permission operation":
        permission = changed["permissions"][0]
        permission["operation"] = data.draw(st.sampled_from([o for o in OPERATIONS if o != permission["operation"]]))
    elif change == "permission resource":
        changed["permissions"][0]["resource"] += data.draw(st.text(PRINTABLE, min_size=1, max_size=3))
        changed["permissions"][0]["resource"] = changed["permissions"][0]["resource"][-256:]
    elif change == "context":
        changed["context"] = data.draw(CONTEXTS.filter(lambda c: c != document.get("context")))
    elif change == "csr key":
        changed["csr"] = data.draw(st.sampled_from([p for p in CSR_PEMS if p != document["csr"]]))
    else:
        changed["csr"] = _flip_one_base64_character(document["csr"], data.draw(st.integers(0, 10**6)))
    assume(changed != document)
    assume(_is_valid(changed))  # a changed permission may now repeat another one

    assert digest(changed) != digest(document)


# ----------------------------------------------------------------------------- helpers


def _is_valid(document) -> bool:
    try:
        parse_registration(encode(document))
    except InvalidRequest:
        return False
    return True


class _RawJSON(str):
    """Text spliced into a JSON document as it is (NaN literals, duplicate keys)."""


def _value_text(value) -> str:
    if isinstance(value, _RawJSON):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(map(_value_text, value)) + "]"
    if isinstance(value, dict):
        return _object_text(list(value.items()))
    return json.dumps(value)


def _object_text(pairs) -> str:
    return "{" + ",".join(f"{json.dumps(key)}:{_value_text(value)}" for key, value in pairs) + "}"


def _deep_json(document) -> bytes:
    """json.dumps recurses in Python and stops near 1000 levels; a client need not."""
    context = document["context"]
    opening, closing, inner = "", "", context
    while isinstance(inner, (list, dict)):
        if isinstance(inner, list):
            opening, closing, inner = opening + "[", "]" + closing, inner[0]
        else:
            opening, closing, inner = opening + '{"k":', "}" + closing, inner["k"]
    rest = {key: value for key, value in document.items() if key != "context"}
    return _object_text(list(rest.items()) + [("context", _RawJSON(opening + json.dumps(inner) + closing))]).encode()


def _rewrap(pem: str, width: int, newline: str) -> str:
    lines = pem.strip().splitlines()
    body = "".join(lines[1:-1])
    chunks = [body[i:i + width] for i in range(0, len(body), width)]
    return newline.join([lines[0], *chunks, lines[-1]])


def _flip_one_base64_character(pem: str, position: int) -> str:
    lines = pem.splitlines(keepends=True)
    body_positions = [(n, i) for n, line in enumerate(lines[1:-1], 1) for i, c in enumerate(line) if c.isalnum()]
    n, i = body_positions[position % len(body_positions)]
    line = lines[n]
    lines[n] = line[:i] + ("A" if line[i] != "A" else "B") + line[i + 1:]
    return "".join(lines)
