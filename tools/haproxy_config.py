"""The README's HAProxy configuration (section "Behind HAProxy"), with only its listening
address and its instances' addresses replaced: what the README tells an administrator is
what the tests and the benchmarks run."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
# What the README's configuration listens on, and where it finds the instances.
README_BIND = re.compile(r"^(\s*bind) :8443$", re.M)
README_INSTANCE = re.compile(r"\b10\.0\.0\.1[12]:8443\b")


def readme_configuration() -> str:
    text = README.read_text()
    return re.search(r"<!-- tested by tests/test_haproxy.py[^>]*-->\n```haproxy\n(.*?)```", text, re.S).group(1)


def configuration(port: int, *instances: str) -> str:
    """The README's configuration listening on 127.0.0.1:``port``, with its two instances at
    ``instances`` (HOST:PORT each); one registry given stands for both of the README's."""
    if len(instances) not in (1, 2):
        raise ValueError(f"the README's configuration has two instances, not {len(instances)}")
    places = iter(instances * 2 if len(instances) == 1 else instances)
    text, binds = README_BIND.subn(rf"\g<1> 127.0.0.1:{port}", readme_configuration())
    text, replaced = README_INSTANCE.subn(lambda _: next(places), text)
    if (binds, replaced) != (1, 2):
        raise ValueError("the README's HAProxy configuration changed shape: update tools/haproxy_config.py")
    return text
