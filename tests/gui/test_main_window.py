"""The main window with real widgets, over the real registry and HTTPS server.

Agents register over HTTPS while the window runs; the administrator's side is
driven through the window's own buttons and actions. The review dialog is the
real dialog, answered through its ``ask`` seam instead of a modal loop.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication

import wiring
from gui import prompts
from gui.main_window import MainWindow
from gui.state_panel import NOT_SERVING_TEXT
from gui.review_dialog import ReviewDialog
from storage import close_db, db
from tests.gui.agents import PASSWORD, dns, document, register
from tests.helpers import Client
from tests.processes import Registry, given_the_ca_of
from wiring import DATABASE_VARIABLE

REPO = Path(__file__).resolve().parents[2]


def state(window) -> str:
    return window.state_panel.state_label.text()


def open_registry(qtbot, window) -> None:
    qtbot.mouseClick(window.state_panel.toggle_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state(window) == "Open")


def row_of(window, username: str):
    model = window.registrations
    rows = [model.summary(row) for row in range(model.rowCount())]
    return next((row for row in rows if row.username == username), None)


def status_of(window, username: str) -> str | None:
    row = row_of(window, username)
    return row.status if row else None


def answer_review(monkeypatch, act) -> list[ReviewDialog]:
    """Answer the next reviews with the real dialog: ``act(dialog)`` ticks and clicks."""
    dialogs = []

    def ask(parent, details, registrations=None):
        dialog = ReviewDialog(details, parent, registrations)
        dialogs.append(dialog)
        act(dialog)
        return dialog.decision

    monkeypatch.setattr(ReviewDialog, "ask", staticmethod(ask))
    return dialogs


def review(qtbot, window, username: str) -> None:
    qtbot.waitUntil(lambda: window.registrations_tab.select_username(username))
    window.registrations_tab.review_action.trigger()


def granted_through_the_window(qtbot, monkeypatch, window, client, username: str) -> dict:
    """Open, register over HTTPS, grant everything in the review dialog; the request sent."""
    open_registry(qtbot, window)
    body = document(username)
    register(client, body)
    answer_review(monkeypatch, lambda dialog: dialog.grant_button.click())
    review(qtbot, window, username)
    qtbot.waitUntil(lambda: status_of(window, username) == "granted")
    return body


def certificate_of(reply) -> x509.Certificate:
    return x509.load_pem_x509_certificate(reply.json["certificate"].encode("ascii"))


def whoami(client, username: str):
    token = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return client.request("GET", "/api/auth/whoami", headers={"Authorization": f"Basic {token}"})


def admin_cli(tmp_path, *arguments: str) -> None:
    completed = subprocess.run(
        [sys.executable, "main.py", "admin", "--data-dir", str(tmp_path / "data"), *arguments],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr


def test_clicking_open_opens_the_registry_and_the_server_starts_answering_202(qtbot, window, client):
    register(client, document("press1"), expected=423)
    assert state(window) == "Locked"
    assert window.state_panel.toggle_button.text() == "&Open for 5 minutes"  # Alt+O
    open_registry(qtbot, window)
    assert window.state_panel.countdown_label.text() == "05:00"  # the injected clock stands still
    assert window.state_panel.toggle_button.text() == "&Lock now"
    register(client, document("press1"))
    qtbot.mouseClick(window.state_panel.toggle_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state(window) == "Locked")
    register(client, document("press2"), expected=423)


def test_the_countdown_reaches_zero_and_shows_locked(qtbot, window, clock, client):
    open_registry(qtbot, window)
    clock.advance(299.5)
    qtbot.waitUntil(lambda: window.state_panel.countdown_label.text() == "00:01")
    assert state(window) == "Open"
    clock.advance(0.5)
    qtbot.waitUntil(lambda: state(window) == "Locked")
    assert window.state_panel.toggle_button.text() == "&Open for 5 minutes"
    register(client, document("late1"), expected=423)


def test_a_registration_sent_over_https_appears_without_a_click_and_is_announced(qtbot, window, client):
    open_registry(qtbot, window)
    register(client, document("camera7", context={"host": "cam7"}))
    qtbot.waitUntil(lambda: status_of(window, "camera7") == "pending", timeout=2000)
    row = row_of(window, "camera7")
    assert (row.key_description, row.roles, row.permission_count) == ("EC P-256", ("operator",), 2)
    qtbot.waitUntil(lambda: "camera7" in window.statusBar().currentMessage())
    assert window.tabs.tabText(0) == "&Registrations (1 pending)"  # Alt+R


def test_grant_makes_the_next_poll_return_201_with_a_certificate_that_verifies(
        qtbot, monkeypatch, window, client, service):
    open_registry(qtbot, window)
    body = document("press3", sans=[dns("press3.plant.local")])
    pending = register(client, body)
    dialogs = answer_review(monkeypatch, lambda dialog: dialog.grant_button.click())
    review(qtbot, window, "press3")
    qtbot.waitUntil(lambda: status_of(window, "press3") == "granted")

    granted = register(client, body, expected=201)
    certificate = certificate_of(granted)
    certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(service.ca.certificate_pem.encode()))
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "press3"
    with pytest.raises(x509.ExtensionNotFound):  # SANs are unticked unless the admin ticks them
        certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert granted.json["permissions"] == body["permissions"]
    row = row_of(window, "press3")
    assert row.certificate_serial == format(certificate.serial_number, "x")
    assert row.certificate_not_after == certificate.not_valid_after_utc.timestamp()
    assert dialogs[0].fingerprint_label.text().replace(" ", "") == pending.json["fingerprint"]
    qtbot.waitUntil(lambda: window.audit.rowCount() > 0 and window.audit.index(0, 2).data() == "grant")
    assert window.audit.index(0, 1).data().endswith("(window)")


def test_what_the_admin_unticked_is_not_granted(qtbot, monkeypatch, window, client):
    open_registry(qtbot, window)
    body = document("press4", roles=("operator", "maintainer"), sans=[dns("press4.plant.local"), dns("evil.example")])
    register(client, body)

    def untick(dialog):
        dialog.role_list.item(1).setCheckState(Qt.CheckState.Unchecked)  # maintainer
        dialog.permission_list.item(1).setCheckState(Qt.CheckState.Unchecked)  # write plant/line1/cmd
        dialog.san_list.item(0).setCheckState(Qt.CheckState.Checked)  # press4.plant.local only
        dialog.grant_button.click()

    answer_review(monkeypatch, untick)
    review(qtbot, window, "press4")
    qtbot.waitUntil(lambda: status_of(window, "press4") == "granted")

    granted = register(client, body, expected=201)
    assert granted.json["roles"] == ["operator"]
    assert granted.json["permissions"] == [body["permissions"][0]]
    sans = certificate_of(granted).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["press4.plant.local"]
    me = whoami(client, "press4")
    assert me.status == 200
    assert (me.json["roles"], me.json["permissions"]) == (["operator"], [body["permissions"][0]])


def test_reject_makes_the_next_poll_403_with_the_reason(qtbot, monkeypatch, window, client):
    open_registry(qtbot, window)
    body = document("press5")
    register(client, body)

    def reject(dialog):
        dialog.reason_edit.setText("not in the asset register")
        dialog.reject_button.click()

    answer_review(monkeypatch, reject)
    review(qtbot, window, "press5")
    qtbot.waitUntil(lambda: status_of(window, "press5") == "rejected")
    rejected = register(client, body, expected=403)
    assert rejected.json["message"] == "not in the asset register"


def test_export_writes_the_granted_certificate(qtbot, monkeypatch, window, client, tmp_path):
    body = granted_through_the_window(qtbot, monkeypatch, window, client, "press6")
    target = tmp_path / "press6.crt"
    monkeypatch.setattr(prompts, "ask_export_path", lambda parent, username: target)
    qtbot.waitUntil(window.registrations_tab.export_action.isEnabled)
    window.registrations_tab.export_action.trigger()
    qtbot.waitUntil(target.exists)
    assert target.read_text() == register(client, body, expected=201).json["certificate"]


def test_delete_revokes_a_granted_client_and_removes_its_row(qtbot, monkeypatch, window, client):
    granted_through_the_window(qtbot, monkeypatch, window, client, "press7")
    assert whoami(client, "press7").status == 200
    asked = []
    monkeypatch.setattr(prompts, "confirm_delete", lambda parent, username, status: asked.append(status) or True)
    window.registrations_tab.delete_action.trigger()
    qtbot.waitUntil(lambda: row_of(window, "press7") is None)
    assert asked == ["granted"]
    assert whoami(client, "press7").status == 401


def test_changes_made_by_the_admin_cli_in_another_process_show_without_a_click(qtbot, window, client, tmp_path):
    open_registry(qtbot, window)
    register(client, document("line8"))
    register(client, document("line9"))
    qtbot.waitUntil(lambda: window.registrations.rowCount() == 2)
    admin_cli(tmp_path, "grant", "line8")
    admin_cli(tmp_path, "delete", "line9")
    qtbot.waitUntil(lambda: status_of(window, "line8") == "granted" and row_of(window, "line9") is None)
    assert window.registrations.rowCount() == 1


def test_the_gui_thread_never_touches_the_database(qtbot, monkeypatch, window, client):
    close_db()  # the fixtures' set-up used this thread; from here on only the window runs here
    granted_through_the_window(qtbot, monkeypatch, window, client, "press10")
    assert db.is_closed()  # peewee's connection state is per thread: none was opened here


def test_geometry_and_the_last_filter_are_remembered(qtbot, service, server, settings_file):
    first = MainWindow(service, server.url, QSettings(str(settings_file), QSettings.Format.IniFormat))
    qtbot.addWidget(first)
    first.show()
    first.resize(640, 480)  # within the offscreen screen, which restoreGeometry clamps to
    first.registrations_tab.set_filter("granted")
    first.close()

    second = MainWindow(service, server.url, QSettings(str(settings_file), QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    assert second.registrations_tab.proxy.status == "granted"
    assert second.registrations_tab.filter_box.currentText() == "Granted"
    assert second.size() == QSize(640, 480)
    second.close()


def told(monkeypatch) -> list[str]:
    """What the window tells the administrator in a message box (the prompts seam)."""
    messages: list[str] = []
    monkeypatch.setattr(prompts, "tell_failure", lambda parent, text: messages.append(text))
    return messages


def test_a_refused_action_is_told_in_a_message_box(qtbot, monkeypatch, window, client, tmp_path):
    messages = told(monkeypatch)
    open_registry(qtbot, window)
    register(client, document("press11"))

    def grant_after_another_admin_deleted_it(dialog):
        admin_cli(tmp_path, "delete", "press11")  # another administrator, another process
        dialog.grant_button.click()  # before the window's next read could tell the dialog

    answer_review(monkeypatch, grant_after_another_admin_deleted_it)
    review(qtbot, window, "press11")
    qtbot.waitUntil(lambda: len(messages) > 0)
    assert messages == ["Refused: there is no registration named 'press11'"]
    assert window.statusBar().currentMessage() == messages[0]
    qtbot.waitUntil(lambda: row_of(window, "press11") is None)


def test_the_listening_address_and_the_ca_fingerprint_are_shown_and_copyable(qtbot, window, server, service):
    panel = window.state_panel
    assert panel.address_label.text() == server.url
    # Always two lines of four groups, so the panel is the same height whatever the state.
    lines = panel.fingerprint_label.text().split("\n")
    assert [len(line.split(" ")) for line in lines] == [4, 4]
    assert "".join(lines).replace(" ", "") == service.ca.fingerprint
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == service.ca.fingerprint
    assert window.statusBar().currentMessage() == "CA fingerprint copied"


def test_the_window_on_a_shared_registry_serves_nothing_and_grants_what_an_instance_received(
        qtbot, monkeypatch, postgres, tmp_path, settings):
    """``main.py --database URL --no-server``: the window over PostgreSQL, a headless instance serving."""
    environment = {DATABASE_VARIABLE: postgres.new_database()}
    (tmp_path / "instance").mkdir()
    instance = Registry(tmp_path / "instance", environment=environment)
    instance.start()
    desk = given_the_ca_of(instance, tmp_path / "desk")
    service = wiring.open_registry(desk, database_url=environment[DATABASE_VARIABLE])
    window = MainWindow(service, [], settings)
    qtbot.addWidget(window)
    window.show()
    window.start()
    try:
        qtbot.waitUntil(window.state_panel.toggle_button.isEnabled)
        assert window.state_panel.address_label.text() == NOT_SERVING_TEXT
        client = Client(instance.url, instance.ca_file)
        body = granted_through_the_window(qtbot, monkeypatch, window, client, "press9")
        certificate_of(register(client, body, expected=201)).verify_directly_issued_by(service.ca.certificate)
    finally:
        window.shutdown()
        instance.stop()
        close_db()
