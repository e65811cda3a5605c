"""The window left open all shift: no reference drifts, the process stays up.

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without a reference;
the window emits several signals a second, and on Python 3.11 the interpreter
aborts with "bool_dealloc" after about nine minutes. The lock file pins a
release without the fault; this test fails on any binding that has it, and on
any per-cycle leak of our own (each background task once kept its QRunnable
alive, with everything its closures held).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CYCLES = 4000
# A leak of one reference per emit drifts by several per cycle; the registry and
# the window hold as much at the end as at the start, so only the interpreter's
# own caches may move the counts, by a little.
TOLERANCE = 50
# The password cache and the rate limiter remember each new agent (boundedly); a
# leak per background task grows by thousands.
OBJECT_TOLERANCE = 500


def test_thousands_of_refresh_cycles_leave_reference_counts_where_they_were(tmp_path):
    child = subprocess.run(
        [sys.executable, "-m", "tests.gui.soak", str(tmp_path / "data"), str(CYCLES)],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=600,
    )
    assert child.returncode == 0, f"the window process died ({child.returncode}):\n{child.stderr[-3000:]}"
    report = json.loads(child.stdout.strip().splitlines()[-1])
    for name in ("True", "False", "None"):
        drift = report["after"][name] - report["before"][name]
        assert abs(drift) <= TOLERANCE, f"sys.getrefcount({name}) drifted by {drift} over {CYCLES} cycles"
    grown = report["after"]["objects"] - report["before"]["objects"]
    assert grown <= OBJECT_TOLERANCE, f"{grown} more live objects after {CYCLES} cycles"
    assert report["registered_and_shown"] == CYCLES // 25, "not every agent's request reached the table"
