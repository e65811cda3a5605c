"""Warnings beside a request: look-alike roles, far-reaching permissions, an escaped audit actor."""

from __future__ import annotations

from server.actors import admin_actor
from server.review_warnings import request_warnings
from server.validation import Permission


def test_look_alike_and_invisible_roles_are_pointed_out():
    warnings = request_warnings(["operator", "оperator", "oper\u200bator"], [])
    assert warnings == (
        "role 'оperator' holds non-ASCII characters (U+043E) that may look like others",
        "role 'oper\\u200bator' holds invisible or combining characters",
    )


def test_wildcards_and_empty_topic_levels_are_pointed_out():
    warnings = request_warnings([], [Permission("plant/#", "read", "mqtt"), Permission("plant/line1/cmd", "write", "mqtt"),
                                     Permission("+/+/status", "read", "mqtt"), Permission("/plant/", "read", "mqtt")])
    assert warnings == (
        "permission mqtt:read:plant/# holds the wildcard '#': every topic below",
        "permission mqtt:read:+/+/status holds the wildcard '+': any one topic level",
        "permission mqtt:read:/plant/ begins or ends with '/': an empty topic level",
    )


def test_the_audit_actor_from_the_environment_cannot_drive_a_terminal(monkeypatch):
    monkeypatch.setenv("LOGNAME", "mallory\x1b[2J\x07")
    assert admin_actor("cli") == "mallory\\x1b[2J\\x07 (cli)"
