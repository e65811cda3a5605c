"""What an administrator should look at twice before granting a request.

Not refusals: a role with a Cyrillic letter or a permission on ``plant/#`` may
be exactly what is meant. But they are shown beside the request (``admin
show``, the review dialog) so that a look-alike role or a far-reaching topic
filter is never granted by accident.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from common.visible import make_visible
from server.validation import Permission

# MQTT topic filter wildcards (OASIS MQTT 3.1.1, 4.7.1), and the one most brokers'
# ACLs and HTTP routers also read as "anything".
_WILDCARDS = {"#": "every topic below", "+": "any one topic level", "*": "anything, to many brokers and routers"}


def request_warnings(roles: Iterable[str], permissions: Iterable[Permission]) -> tuple[str, ...]:
    warnings = []
    for role in roles:
        if any(unicodedata.category(character) in ("Cf", "Mn", "Zs") for character in role):
            warnings.append(f"role '{make_visible(role)}' holds invisible or combining characters")
        elif not role.isascii():
            foreign = ", ".join(f"U+{ord(character):04X}" for character in role if not character.isascii())
            warnings.append(f"role '{make_visible(role)}' holds non-ASCII characters ({foreign}) that may "
                            "look like others")
    for permission in permissions:
        shown = f"{permission.context}:{permission.operation}:{make_visible(permission.resource)}"
        for wildcard, meaning in _WILDCARDS.items():
            if wildcard in permission.resource:
                warnings.append(f"permission {shown} holds the wildcard {wildcard!r}: {meaning}")
        if permission.resource.startswith("/") or permission.resource.endswith("/"):
            warnings.append(f"permission {shown} begins or ends with '/': an empty topic level")
    return tuple(warnings)
