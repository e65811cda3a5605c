"""HTTP load: wrk when it is installed, else a multi-process Python generator.

Either way: N keep-alive HTTPS connections POST JSON bodies round-robin for a
fixed time, and the result carries requests/s, latency percentiles and the
count of answers by status (a benchmark that silently measured 409s or 429s
would be worse than none). ``BENCH_LOAD=python`` forces the fallback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("round_robin.lua")
RESULT_MARKER = "BENCH_RESULT "


@dataclass
class LoadResult:
    generator: str
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    socket_errors: int

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    def to_json(self) -> dict:
        return dict(asdict(self), requests_per_second=round(self.requests_per_second, 1))

    def unexpected(self, expected_status: int) -> str:
        """A note on answers other than ``expected_status`` and socket errors, or ""."""
        others = {status: count for status, count in self.statuses.items() if status != str(expected_status)}
        parts = [f"{count} answered {status}" for status, count in sorted(others.items())]
        if self.socket_errors:
            parts.append(f"{self.socket_errors} socket errors")
        return ", ".join(parts)


def percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def generator_name() -> str:
    return "python" if os.environ.get("BENCH_LOAD") == "python" or not shutil.which("wrk") else "wrk"


def generate_load(url: str, path: str, bodies: list[str], *, connections: int, seconds: float,
                  ca_file: Path) -> LoadResult:
    """POST ``bodies`` round-robin to ``url + path`` over ``connections`` keep-alive connections."""
    if generator_name() == "wrk":
        return _wrk(url + path, bodies, connections, seconds)
    from bench.pyload import python_load

    return python_load(url, path, bodies, connections=connections, seconds=seconds, ca_file=ca_file)


def _wrk(url: str, bodies: list[str], connections: int, seconds: float) -> LoadResult:
    threads = max(1, min(connections, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as folder:
        bodies_file = Path(folder) / "bodies.jsonl"
        bodies_file.write_text("\n".join(bodies) + "\n")
        completed = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
             "-s", str(LUA_SCRIPT), url, "--", str(bodies_file)],
            capture_output=True, text=True, check=False,
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip() or completed.stdout}")
    raw = json.loads(lines[-1][len(RESULT_MARKER):])
    return LoadResult(
        generator="wrk", connections=connections, requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000, p90_ms=raw["p90_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000, statuses=raw["statuses"], socket_errors=raw["socket_errors"],
    )
