"""The load generator used where wrk is not installed.

One process per core, each running asyncio with its share of the keep-alive
connections: a single process would make the GIL, not the server, the
bottleneck. Each connection sends a request, reads the whole answer, records
its latency and sends the next, like wrk does.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import ssl
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from bench.load import LoadResult, percentile


def python_load(url: str, path: str, bodies: list[str], *, connections: int, seconds: float,
                ca_file: Path) -> LoadResult:
    processes = max(1, min(connections, os.cpu_count() or 1))
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    start_at = time.time() + 0.5  # every process starts its clock together
    jobs = [(url, path, bodies, share, i * len(bodies) // processes, start_at, seconds, str(ca_file))
            for i, share in enumerate(shares)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.starmap(_run_process, jobs)
    latencies = sorted(latency for part in parts for latency in part["latencies"])
    statuses = Counter()
    for part in parts:
        statuses.update(part["statuses"])
    return LoadResult(
        generator="python", connections=connections, requests=len(latencies), seconds=seconds,
        p50_ms=percentile(latencies, 50) * 1000, p90_ms=percentile(latencies, 90) * 1000,
        p99_ms=percentile(latencies, 99) * 1000, max_ms=(latencies[-1] if latencies else 0) * 1000,
        statuses=dict(statuses), socket_errors=sum(part["socket_errors"] for part in parts),
    )


def _run_process(url, path, bodies, connections, offset, start_at, seconds, ca_file) -> dict:
    return asyncio.run(_run_connections(url, path, bodies, connections, offset, start_at, seconds, ca_file))


async def _run_connections(url, path, bodies, connections, offset, start_at, seconds, ca_file) -> dict:
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=ca_file) if parts.scheme == "https" else None
    requests = [_request_bytes(parts.netloc, path, body) for body in bodies]
    state = {"next": offset, "latencies": [], "statuses": Counter(), "socket_errors": 0}
    await asyncio.sleep(max(0.0, start_at - time.time()))
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(_connection(parts.hostname, parts.port, context, requests, state, deadline)
                           for _ in range(connections)))
    return {"latencies": state["latencies"], "statuses": dict(state["statuses"]),
            "socket_errors": state["socket_errors"]}


async def _connection(host, port, context, requests, state, deadline) -> None:
    reader = writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port, ssl=context)
            request = requests[state["next"] % len(requests)]
            state["next"] += 1
            started = time.perf_counter()
            writer.write(request)
            status, keep_alive = await _read_response(reader)
            state["latencies"].append(time.perf_counter() - started)
            state["statuses"][str(status)] += 1
            if not keep_alive:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            state["socket_errors"] += 1
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


def _request_bytes(netloc: str, path: str, body: str) -> bytes:
    payload = body.encode("utf-8")
    head = (f"POST {path} HTTP/1.1\r\nHost: {netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n")
    return head.encode("ascii") + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *header_lines = head.split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise ValueError("an answer without Content-Length")
    await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers.get("connection", "").lower() != "close"
