"""A certificate's life in the window: expiry marks that follow the service's clock,
revoking with a reason, the client's certificate history, the CRL's facts, and EST
enrolments marked as such. Real registry, real HTTPS server; prompts patched at their seams."""

from __future__ import annotations

import base64
import json

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QComboBox, QDialog, QDialogButtonBox

from gui import prompts
from gui.certificate_history import CertificatesModel
from gui.crl_watch import CrlFacts, CrlWatch, crl_text
from gui.registrations_model import EXPIRES, VIA
from gui.review_dialog import ReviewDialog
from gui.tasks import BackgroundTasks
from gui.theme import EXPIRY_COLOURS, LIGHT
from common.api_paths import EST_SIMPLEENROLL_PATH, RENEW_PATH
from server.lifecycle import REASONS
from tests.gui.agents import PASSWORD, document, register
from tests.gui.test_main_window import (
    admin_cli, answer_review, granted_through_the_window, open_registry, review, row_of, status_of, told, whoami,
)
from tests.helpers import make_csr

DAY = 86_400


def basic(username: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()}


def renew(client, username: str) -> None:
    csr, _ = make_csr(username)
    reply = client.request("POST", RENEW_PATH, json.dumps({"csr": csr}).encode(),
                           {"Content-Type": "application/json", **basic(username)})
    assert reply.status == 201, reply.body


def expiry_cell(window, username: str):
    model = window.registrations
    row = next(row for row in range(model.rowCount()) if model.summary(row).username == username)
    index = model.index(row, EXPIRES)
    return index.data(Qt.ItemDataRole.ToolTipRole), index.data(Qt.ItemDataRole.ForegroundRole)


def test_a_certificate_near_or_past_its_end_stands_out_as_the_service_clock_moves(qtbot, window, client,
                                                                                  service, clock):
    open_registry(qtbot, window)
    register(client, document("press20"))
    service.grant("press20", "tester")
    qtbot.waitUntil(lambda: status_of(window, "press20") == "granted")
    tooltip, colour = expiry_cell(window, "press20")
    assert tooltip in ("expires in 364 days", "expires in 365 days") and colour is None

    clock.advance(340 * DAY)  # the fake clock of the service, not the process's time
    tooltip, colour = expiry_cell(window, "press20")
    assert tooltip in ("expires in 24 days", "expires in 25 days")
    assert colour == QColor(EXPIRY_COLOURS[LIGHT]["expiring"])
    with qtbot.waitSignal(window.registrations.dataChanged):
        window.crl_watch.ticked.emit()  # the window's minute tick repaints the column

    clock.advance(30 * DAY)
    tooltip, colour = expiry_cell(window, "press20")
    assert tooltip.startswith("expired ") and colour == QColor(EXPIRY_COLOURS[LIGHT]["expired"])
    window.registrations_tab.select_username("press20")
    assert not window.registrations_tab.revoke_action.isEnabled()  # nothing current left to revoke


def test_revoke_asks_for_a_reason_revokes_in_the_background_and_the_crl_follows(
        qtbot, monkeypatch, window, client, service):
    body = granted_through_the_window(qtbot, monkeypatch, window, client, "press21")
    serial = row_of(window, "press21").certificate_serial
    qtbot.waitUntil(lambda: window.crl_label.text().startswith("CRL "))
    before = service.crl()
    assert window.crl_label.text() == crl_text(CrlFacts(before.number, before.next_update))
    asked = []
    answers = iter([None, "keyCompromise"])  # first cancelled, then a reason
    monkeypatch.setattr(prompts, "ask_revoke_reason",
                        lambda parent, username, shown_serial: asked.append((username, shown_serial)) or next(answers))
    tab = window.registrations_tab
    qtbot.waitUntil(lambda: tab.select_username("press21") and tab.revoke_action.isEnabled())

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert asked == [("press21", serial)]  # cancelled: nothing happens
    assert service.certificates("press21")[0].state == "current"

    tab.revoke_action.trigger()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Revoked certificate"))
    assert window.statusBar().currentMessage() == (
        f"Revoked certificate {serial} of press21 (keyCompromise); the CRL lists it")
    [certificate] = service.certificates("press21")
    assert (certificate.state, certificate.revocation_reason) == ("revoked", "keyCompromise")
    crl = x509.load_der_x509_crl(service.crl().der)
    assert crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None
    qtbot.waitUntil(lambda: window.crl_label.text().startswith(f"CRL {before.number + 1} "))
    assert status_of(window, "press21") == "granted" and whoami(client, "press21").status == 200
    qtbot.waitUntil(lambda: row_of(window, "press21").certificate_serial is None)
    assert not tab.revoke_action.isEnabled()
    assert register(client, body, expected=201).json["username"] == "press21"
    qtbot.waitUntil(lambda: window.audit.rowCount() > 0 and window.audit.index(0, 2).data() == "revoke")


def test_revoking_a_certificate_revoked_meanwhile_is_told_in_a_message_box(qtbot, monkeypatch, window, client,
                                                                          tmp_path):
    messages = told(monkeypatch)
    granted_through_the_window(qtbot, monkeypatch, window, client, "press22")
    monkeypatch.setattr(prompts, "ask_revoke_reason", lambda parent, username, serial: "superseded")
    tab = window.registrations_tab
    qtbot.waitUntil(lambda: tab.select_username("press22") and tab.revoke_action.isEnabled())
    admin_cli(tmp_path, "revoke", "press22")  # another administrator, another process
    tab.revoke_action.trigger()  # before the window's next read could disable the action
    qtbot.waitUntil(lambda: len(messages) > 0)
    assert messages == ["Refused: press22 has no current certificate"]


def test_the_details_of_a_granted_client_list_its_certificate_history(qtbot, monkeypatch, window, client, service,
                                                                     clock, qtmodeltester):
    granted_through_the_window(qtbot, monkeypatch, window, client, "press23")
    renew(client, "press23")  # the first is superseded
    service.revoke("press23", "tester", "keyCompromise")
    renew(client, "press23")  # a revoked client renews with its password
    dialogs = answer_review(monkeypatch, lambda dialog: None)
    qtbot.waitUntil(lambda: window.registrations_tab.select_username("press23"))
    window.registrations_tab.review_action.trigger()  # "Details…" for a granted client
    qtbot.waitUntil(lambda: len(dialogs) == 1)
    history = dialogs[0].history_table.model()
    qtmodeltester.check(history, force_py=True)
    issued = service.certificates("press23")
    assert [history.index(row, 0).data() for row in range(history.rowCount())] == [
        "superseded", "revoked (keyCompromise)", "current"]
    assert [history.index(row, 3).data() for row in range(history.rowCount())] == [c.serial for c in issued]
    tooltip = history.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith(f"Serial {issued[1].serial}: revoked (keyCompromise)") and "Revoked " in tooltip

    clock.advance(400 * DAY)
    later = ReviewDialog(service.details("press23"))
    qtbot.addWidget(later)
    model = later.history_table.model()
    assert model.index(2, 0).data() == "expired"


def test_the_history_model_passes_qt_model_checks_when_empty(qtmodeltester):
    qtmodeltester.check(CertificatesModel(), force_py=True)


def test_the_crl_is_read_in_the_background_now_and_periodically(qtbot, service, client):
    tasks = BackgroundTasks(after_each=service.release_connection)
    watch = CrlWatch(service, tasks, interval_ms=50)
    read: list[CrlFacts] = []
    watch.read.connect(read.append)
    try:
        with qtbot.waitSignal(watch.ticked):
            watch.start()
        first = read[0]
        service.open("tester")
        register(client, document("press24"))
        service.grant("press24", "tester")
        service.revoke("press24", "tester", "affiliationChanged")  # as another process could
        qtbot.waitUntil(lambda: read[-1].number == first.number + 1)
        assert read[-1] == CrlFacts(service.crl().number, service.crl().next_update)
    finally:
        watch.stop()
        tasks.stop()


def test_the_revoke_prompt_offers_every_reason_and_returns_the_one_picked(qtbot):
    def pick() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible())
        combo = dialog.findChild(QComboBox, "revokeReason")
        assert [combo.itemData(i) for i in range(combo.count())] == list(REASONS)
        combo.setCurrentIndex(combo.findData("cessationOfOperation"))
        revoke = next(b for b in dialog.findChild(QDialogButtonBox).buttons() if b.text() == "Revoke")
        revoke.click()

    QTimer.singleShot(0, pick)
    assert prompts.ask_revoke_reason(None, "press25", "abc123") == "cessationOfOperation"


def test_an_est_enrolment_is_marked_est_in_the_table_and_in_the_review(qtbot, monkeypatch, window, client):
    open_registry(qtbot, window)
    register(client, document("press26"))
    csr_pem, _ = make_csr("gw26")
    der = x509.load_pem_x509_csr(csr_pem.encode()).public_bytes(Encoding.DER)
    reply = client.request("POST", EST_SIMPLEENROLL_PATH, base64.encodebytes(der),
                           {"Content-Type": "application/pkcs10", **basic("gw26")})
    assert reply.status == 202, reply.body
    qtbot.waitUntil(lambda: status_of(window, "gw26") == "pending" and status_of(window, "press26") == "pending")
    model = window.registrations
    via = {model.summary(row).username: model.index(row, VIA).data() for row in range(model.rowCount())}
    assert via == {"press26": "API", "gw26": "EST"}

    dialogs = answer_review(monkeypatch, lambda dialog: None)
    review(qtbot, window, "gw26")
    qtbot.waitUntil(lambda: len(dialogs) == 1)
    texts = [label.text() for label in dialogs[0].findChildren(type(dialogs[0].stale_notice))]
    assert texts[texts.index("Enrolled via") + 1] == "EST"
