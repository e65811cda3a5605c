"""A start-up check of the Qt binding: does emitting a signal leak a reference?

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without owning a
reference. The window emits several signals a second, and on Python 3.11 the
interpreter aborts after minutes ("bool_dealloc: deallocating True"), taking
the HTTPS server with it. The lock file pins a release without the fault; this
check catches a binding installed some other way, in a few milliseconds, before
anything is served.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

EMITS = 200
BROKEN_BINDING = ("the installed PySide6 loses a reference on every signal and would crash the window "
                  "within minutes (a known fault of 6.12.0); reinstall with make run, which installs "
                  "the tested version from requirements/run.txt")


def reference_drift(emit: Callable[[], object], times: int = EMITS) -> int:
    """How far ``sys.getrefcount(True)`` moves over ``times`` calls of ``emit``."""
    emit()  # the first call may create caches that hold references for good
    before = sys.getrefcount(True)
    for _ in range(times):
        emit()
    return sys.getrefcount(True) - before


def binding_leaks(emit: Callable[[], object], times: int = EMITS) -> bool:
    """True when ``emit`` gains or loses about a reference to True per call.

    Other threads may take or drop a few references meanwhile; a leaking
    binding moves the count by one per call, far beyond that noise."""
    return abs(reference_drift(emit, times)) >= times // 2


def qt_signal_emitter() -> Callable[[], object]:
    """Emit a real ``Signal(bool)`` to a Python slot, as the window's tasks do."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal(bool)

    probe = _Probe()
    probe.fired.connect(lambda value: None)
    return lambda: probe.fired.emit(True)
