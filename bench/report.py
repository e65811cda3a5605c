"""Figures, the table they are printed as, and ``bench/results.json``."""

from __future__ import annotations

import json
import os
import platform
import ssl
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

RESULTS_FILE = Path(__file__).with_name("results.json")


@dataclass
class Figure:
    """One measured figure beside its baseline from the same run.

    ``met`` is None where the issue sets no target, or where nothing was
    measured (then ``figure`` is None and ``note`` says why).
    """

    measurement: str  # "1 polling", "3 granting", ...
    name: str
    figure: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    details: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.baseline:
            return None
        return self.figure / self.baseline


def rounded(values: list[float], digits: int = 3) -> list[float]:
    return [round(value, digits) for value in values]


def not_measured(measurement: str, name: str, unit: str, target: str, why: str) -> Figure:
    return Figure(measurement, name, None, unit, target=target, note=f"not measured yet: {why}")


def machine() -> dict:
    """What the figures ran on: they mean little without it."""
    import cryptography

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "cryptography": cryptography.__version__,
        "load_average_at_start": load_average(),
    }


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * page_size / 2**30, 1)


def format_number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def table(figures: list[Figure]) -> str:
    """A plain-text table: measurement, figure, baseline, ratio, target, met."""
    header = ("measurement", "figure", "baseline", "ratio", "target", "met")
    rows = [header]
    for f in figures:
        baseline = format_number(f.baseline, f.unit)
        if f.baseline is not None and f.baseline_name:
            baseline += f" ({f.baseline_name})"
        met = {True: "met", False: "NOT MET", None: "—"}[f.met]
        rows.append((
            f"{f.measurement}: {f.name}",
            format_number(f.figure, f.unit) if f.figure is not None else "not measured",
            baseline if f.baseline is not None else "—",
            f"{f.ratio:.2f}" if f.ratio is not None else "—",
            f.target or "—",
            met,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"  {f.measurement}: {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def write_results(figures: list[Figure], machine_facts: dict, seconds: float, path: Path = RESULTS_FILE) -> None:
    document = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_facts,
        "load_average_at_end": load_average(),
        "duration_seconds": round(seconds, 1),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "figures": [dict(asdict(f), ratio=f.ratio) for f in figures],
    }
    # Written whole or not at all: an interrupted run leaves the last results intact.
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    os.replace(temporary, path)
