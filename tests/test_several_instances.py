"""Several headless instances on one PostgreSQL database: every rule of the registry holds
across them as on one (SPEC, "More than one machine"). Real processes, a real server."""

from __future__ import annotations

import subprocess
import multiprocessing
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from cryptography import x509

from server.ca import CertificateAuthority
from storage.migrations import SCHEMA_VERSION
from tests.helpers import Client, make_csr
from tests.processes import ROOT, Registry, given_the_ca_of, wait_until
from wiring import DATABASE_VARIABLE

PASSWORD = "a secret password"


@pytest.fixture
def instances(postgres, tmp_path, receiver):
    """Two instances on one new database, each with a copy of the CA the first made, both
    notifying one receiver: (first, second, receiver)."""
    environment = {DATABASE_VARIABLE: postgres.new_database()}
    events = receiver()
    (tmp_path / "one").mkdir()
    first = Registry(tmp_path / "one", "--notify-url", events.url, environment=environment)
    first.start()
    given_the_ca_of(first, tmp_path / "two")
    second = Registry(tmp_path / "two", "--notify-url", events.url, environment=environment)
    second.start()
    yield first, second, events
    second.stop()
    first.stop()


def request(username: str, password: str = PASSWORD, **extra) -> dict:
    return {"username": username, "password": password, **extra}


def test_a_request_made_through_one_instance_is_polled_and_granted_through_the_other(instances):
    first, second, events = instances
    through_first, through_second = Client(first.url, first.ca_file), Client(second.url, second.ca_file)
    csr, _ = make_csr("pump7")
    first.admin("open")

    pending = through_first.register(request("pump7", csr=csr))
    assert pending.status == 202
    polled = through_second.register(request("pump7", csr=csr))
    assert (polled.status, polled.json["pairingCode"]) == (202, pending.json["pairingCode"])

    second.admin("grant", "pump7")
    # The first instance answers its polls of a pending request from memory, and sees a
    # decision another process made at its next look at the stored counter.
    granted = wait_until(lambda: (answer := through_first.register(request("pump7", csr=csr))).status == 201
                         and answer, "the grant made elsewhere, seen by the first instance")
    certificate = x509.load_pem_x509_certificate(granted.json["certificate"].encode())
    certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(first.ca_file.read_bytes()))
    assert through_second.register(request("pump7", csr=csr)).json == granted.json  # one certificate, not two

    # Each event once, although both instances run the notifier.
    wait_until(lambda: len(events.events) >= 2, "the pending and the granted event")
    assert [event["event"] for event in events.events] == ["pending", "granted"]
    log = first.admin("log").stdout
    assert log.count("grant") == 1 and "pump7" in log


def test_twenty_racers_for_one_username_across_both_instances_leave_one_request(instances):
    first, second, _ = instances
    first.admin("open")
    clients = [Client(first.url, first.ca_file), Client(second.url, second.ca_file)]

    def race(number: int) -> int:
        return clients[number % 2].register_as_an_agent(request("Valve3", password=f"password {number}")).status

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(race, range(20)))

    assert statuses.count(202) == 1, statuses
    # The others hold a wrong password: refused, and past ten from this address, throttled.
    # (Twenty at once are more than the hashing queue takes: each told to come back does.)
    assert set(statuses) - {202} <= {409, 429}, statuses
    assert [row["username"] for row in first.registrations()] == ["Valve3"]


def test_wrong_passwords_split_across_both_instances_are_counted_together(instances):
    first, second, _ = instances
    first.admin("open")
    clients = [Client(first.url, first.ca_file), Client(second.url, second.ca_file)]
    assert clients[0].register(request("gw1")).status == 202
    assert clients[1].register(request("gw1")).status == 202  # the agent polls through both

    # 10 failures per username and address in 5 minutes: split 5 and 5, the next is refused.
    statuses = [clients[attempt % 2].register(request("gw1", password=f"guess {attempt}")).status
                for attempt in range(10)]
    assert statuses == [409] * 10  # the username is taken, by a password they do not have
    for client in clients:
        refused = client.register(request("gw1", password="one more guess"))
        assert refused.status == 429 and int(refused.headers["retry-after"]) > 0
    for client in clients:  # the agent itself goes on: a password once verified is never throttled
        assert client.register(request("gw1")).status == 202


def test_an_instance_with_another_ca_refuses_to_start_with_one_line(instances, tmp_path):
    first, _, _ = instances
    stranger = tmp_path / "stranger" / "data"
    stranger.mkdir(mode=0o700, parents=True)
    CertificateAuthority.create(stranger, time.time())
    done = subprocess.run([sys.executable, "main.py", "--headless", "--port", "0", "--data-dir", str(stranger)],
                          cwd=ROOT, capture_output=True, text=True, timeout=30, env=first.environment)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "is not the one this registry's database" in done.stderr
    assert first.admin("ca").stdout.strip() == first.ca_fingerprint  # the registry is untouched


def test_chores_run_once_and_pass_to_the_other_instance_when_one_stops(instances):
    first, second, events = instances
    client = Client(second.url, second.ca_file)
    first.admin("open")
    assert client.register(request("meter1")).status == 202
    wait_until(lambda: len(events.events) == 1, "the pending event")

    first.stop()  # whichever held the notifier's lease, the other sends from now on
    second.admin("reject", "meter1")
    wait_until(lambda: len(events.events) == 2, "the rejected event")
    assert [event["event"] for event in events.events] == ["pending", "rejected"]


def test_an_instance_killed_while_agents_poll_through_haproxy_loses_nothing_answered_202(
        postgres, tmp_path, haproxy):
    environment = {DATABASE_VARIABLE: postgres.new_database()}
    behind = ("--trust-proxy", haproxy.address, "--public-url", f"https://localhost:{haproxy.port}")
    (tmp_path / "one").mkdir()
    first = Registry(tmp_path / "one", *behind, environment=environment)
    first.start()
    given_the_ca_of(first, tmp_path / "two")
    second = Registry(tmp_path / "two", *behind, environment=environment)
    second.start()
    haproxy.start(first.port, second.port)
    first.admin("open")
    balancer = Client(f"https://localhost:{haproxy.port}", first.ca_file)
    bodies = [request(f"meter{number:02d}", csr=make_csr(f"meter{number:02d}")[0]) for number in range(30)]
    answered: dict[str, str] = {}  # username: the pairing code its 202 carried
    stop = threading.Event()

    def agent(body: dict) -> None:
        """Register, then poll until told to stop; a dropped connection is retried, as the tool does."""
        while not stop.is_set():
            reply = through(balancer, body)
            if reply is not None and reply.status == 202:
                answered.setdefault(body["username"], reply.json["pairingCode"])
            time.sleep(0.05)

    try:
        with ThreadPoolExecutor(len(bodies)) as pool:
            for body in bodies:
                pool.submit(agent, body)
            wait_until(lambda: len(answered) >= 10, "the first agents' 202s")
            first.kill()  # SIGKILL, mid-traffic
            time.sleep(3)
            stop.set()

        stored = {row["username"]: row for row in second.registrations()}
        assert len(answered) >= 10 and set(answered) <= set(stored)  # nothing answered 202 is lost
        assert all(stored[name]["status"] == "pending" for name in answered)
        assert all(stored[name]["pairingCode"] == code for name, code in answered.items())
        # Every agent goes on through the survivor, and is granted there.
        second.admin("grant", "--all-pending")
        for body in bodies:
            if body["username"] in stored:
                reply = wait_until(lambda: through(balancer, body), f"{body['username']}'s poll")
                assert reply.status == 201
    finally:
        second.stop()


def through(client: Client, body: dict):
    """The answer, or None where the connection broke (the killed instance's, until HAProxy
    takes it out)."""
    try:
        return client.register(body)
    except OSError:
        time.sleep(0.2)
        return None


def test_an_instance_answers_and_does_its_chores_again_after_postgresql_restarts(postgres, tmp_path):
    environment = {DATABASE_VARIABLE: postgres.new_database()}
    (tmp_path / "one").mkdir()
    instance = Registry(tmp_path / "one", environment=environment)
    instance.start()
    try:
        instance.admin("open")
        client = Client(instance.url, instance.ca_file)
        assert client.register(request("pump1")).status == 202

        postgres.restart()  # every connection the instance held is gone

        assert wait_until(lambda: client.register(request("pump2")).status == 202, "a new request's 202")
        assert client.register(request("pump1")).status == 202
        # The chores go on with new connections: the poll flush writes the last poll again.
        before = {row["username"]: row["lastPollAt"] for row in instance.registrations()}
        time.sleep(1.1)  # past the shown time's last second
        assert client.register(request("pump1")).status == 202
        wait_until(lambda: next(row["lastPollAt"] for row in instance.registrations()
                                if row["username"] == "pump1") > before["pump1"], "pump1's new poll time")
    finally:
        instance.stop()


def _open_at_once(barrier, data_dir: str, url: str) -> None:
    """In a child process: open the database the moment every sibling is ready to."""
    from storage import init_db

    barrier.wait()
    init_db(Path(data_dir), url)


def test_processes_opening_a_new_database_at_the_same_moment_create_its_schema_once(postgres, tmp_path):
    url = postgres.new_database()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(6)
    children = [context.Process(target=_open_at_once, args=(barrier, str(tmp_path), url)) for _ in range(6)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0] * 6
    with psycopg.connect(url) as connection:
        assert connection.execute("SELECT id, version FROM schema_version").fetchall() == [(1, SCHEMA_VERSION)]


def test_instances_started_together_on_a_new_database_make_one_schema(postgres, tmp_path):
    """The operator gives every instance the same CA files and starts them at once."""
    environment = {DATABASE_VARIABLE: postgres.new_database()}
    folders = [tmp_path / f"instance{number}" for number in range(3)]
    (folders[0] / "data").mkdir(mode=0o700, parents=True)
    CertificateAuthority.create(folders[0] / "data", time.time())
    instances = [Registry(folders[0], environment=environment)]
    for folder in folders[1:]:
        given_the_ca_of(instances[0], folder)
        instances.append(Registry(folder, environment=environment))
    try:
        with ThreadPoolExecutor(len(instances)) as pool:
            list(pool.map(Registry.start, instances))  # each fails the test if its instance does not listen
        instances[0].admin("open")
        for number, instance in enumerate(instances):
            assert Client(instance.url, instance.ca_file).register(request(f"valve{number}")).status == 202
        assert sorted(row["username"] for row in instances[2].registrations()) == ["valve0", "valve1", "valve2"]
    finally:
        for instance in instances:
            instance.stop()
