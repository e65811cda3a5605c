"""Granting or rejecting several requests at once: one confirmation listing each
username with its pairing code and key fingerprint, then one result per name."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontInfo

from gui.bulk_dialog import FINGERPRINT, GRANT, PAIRING, REJECT, USERNAME, BulkDecisionDialog
from tests.gui.agents import document, register
from tests.gui.test_main_window import granted_through_the_window, open_registry, row_of, state, status_of, told


def answer_bulk(monkeypatch, act) -> list[BulkDecisionDialog]:
    """Answer the next confirmations with the real dialog: ``act(dialog)`` types and clicks."""
    dialogs = []

    def ask(parent, action, requests):
        dialog = BulkDecisionDialog(action, requests, parent)
        dialogs.append(dialog)
        act(dialog)
        return dialog.choice

    monkeypatch.setattr(BulkDecisionDialog, "ask", staticmethod(ask))
    return dialogs


def pending_sent(qtbot, window, client, *usernames: str) -> dict[str, dict]:
    """Open, register each over HTTPS; the 202 bodies by username, once the table shows them all."""
    if state(window) != "Open":
        open_registry(qtbot, window)
    replies = {name: register(client, document(name)).json for name in usernames}
    qtbot.waitUntil(lambda: all(status_of(window, name) == "pending" for name in usernames))
    return replies


def select_all(window) -> None:
    window.registrations_tab.table.setFocus()
    window.registrations_tab.table.selectAll()


def test_the_confirmation_lists_each_name_with_its_pairing_code_and_fingerprint(qtbot, service, client):
    service.open("tester")
    names = ("pump1", "pump2")
    replies = [register(client, document(name)).json for name in names]
    requests = [service.details(name) for name in names]
    dialog = BulkDecisionDialog(REJECT, requests)
    qtbot.addWidget(dialog)
    table = dialog.table
    assert table.rowCount() == 2
    for row, (name, reply) in enumerate(zip(names, replies)):
        assert table.item(row, USERNAME).text() == name
        assert table.item(row, PAIRING).text() == reply["pairingCode"]
        assert table.item(row, FINGERPRINT).text().replace(" ", "") == reply["fingerprint"]
        assert QFontInfo(table.item(row, PAIRING).font()).fixedPitch()
    assert dialog.reason_edit.isVisibleTo(dialog)
    qtbot.keyClicks(dialog.reason_edit, "  not on the list ")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)  # Enter in the reason confirms the rejection
    assert dialog.choice.action == REJECT
    assert dialog.choice.usernames == ("pump1", "pump2")
    assert dialog.choice.reason == "not on the list"


def test_cancel_decides_nothing(qtbot, service, client):
    service.open("tester")
    register(client, document("pump3"))
    dialog = BulkDecisionDialog(GRANT, [service.details("pump3")])
    qtbot.addWidget(dialog)
    assert not dialog.reason_edit.isVisibleTo(dialog)  # a grant asks for no reason
    dialog.cancel_button.click()
    assert dialog.choice is None


def test_grant_selected_grants_every_selected_pending_request_after_one_confirmation(
        qtbot, monkeypatch, window, client):
    granted_through_the_window(qtbot, monkeypatch, window, client, "pump0")  # a granted row is left out
    replies = pending_sent(qtbot, window, client, "pump1", "pump2", "pump3")
    select_all(window)
    tab = window.registrations_tab
    qtbot.waitUntil(tab.grant_selected_action.isEnabled)
    assert tab.grant_selected_action.text() == "Grant 3 selected…"
    assert not tab.review_action.isEnabled()  # one row's actions need one row
    dialogs = answer_bulk(monkeypatch, lambda dialog: dialog.confirm_button.click())
    tab.grant_selected_action.trigger()
    qtbot.waitUntil(lambda: all(status_of(window, name) == "granted" for name in replies))
    assert len(dialogs) == 1
    listed = [dialogs[0].table.item(row, PAIRING).text() for row in range(dialogs[0].table.rowCount())]
    assert listed == [reply["pairingCode"] for reply in replies.values()]
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Granted 3: pump1, pump2, pump3"))
    for name in replies:
        assert register(client, document(name), expected=201).json["status"] == "granted"


def test_reject_selected_tells_each_refusal_by_name_and_rejects_the_rest(
        qtbot, monkeypatch, window, client, service):
    pending_sent(qtbot, window, client, "pump4", "pump5", "pump6")
    messages = told(monkeypatch)
    select_all(window)

    def another_admin_deletes_one_then_reject(dialog):
        service.delete("pump5", "another admin")  # after the details were read, before the decision
        dialog.reason_edit.setText("wrong hall")
        dialog.confirm_button.click()

    answer_bulk(monkeypatch, another_admin_deletes_one_then_reject)
    window.registrations_tab.reject_selected_action.trigger()
    qtbot.waitUntil(lambda: len(messages) == 1)
    assert messages[0] == "1 of 3 could not be rejected:\npump5: there is no registration named 'pump5'"
    qtbot.waitUntil(lambda: status_of(window, "pump4") == "rejected" and status_of(window, "pump6") == "rejected")
    assert window.statusBar().currentMessage().startswith("Rejected 2: pump4, pump6")
    assert register(client, document("pump4"), expected=403).json["message"] == "wrong hall"


def test_rows_decided_before_the_confirmation_are_left_out_and_said_so(qtbot, monkeypatch, window, client, service):
    pending_sent(qtbot, window, client, "pump7", "pump8")
    select_all(window)
    service.reject("pump7", "another admin")  # the window has not read it yet
    messages = told(monkeypatch)
    dialogs = answer_bulk(monkeypatch, lambda dialog: dialog.cancel_button.click())
    window.registrations_tab.grant_selected_action.trigger()
    qtbot.waitUntil(lambda: len(dialogs) == 1)
    assert [dialogs[0].table.item(row, USERNAME).text() for row in range(dialogs[0].table.rowCount())] == ["pump8"]
    assert messages == ["No longer pending (decided or deleted meanwhile), left out: pump7"]
    assert status_of(window, "pump8") == "pending"  # cancelled: nothing decided


def test_single_row_actions_still_act_on_one_selected_row(qtbot, window, client):
    pending_sent(qtbot, window, client, "pump9")
    tab = window.registrations_tab
    assert tab.select_username("pump9")
    assert tab.review_action.isEnabled() and tab.delete_action.isEnabled()
    assert tab.grant_selected_action.text() == "Grant selected…"
    assert row_of(window, "pump9") == tab.selected()


def test_a_request_replaced_by_an_impostor_after_the_confirmation_opened_is_not_granted(
        qtbot, monkeypatch, window, client, service):
    pending_sent(qtbot, window, client, "pump10", "pump11")
    messages = told(monkeypatch)
    select_all(window)

    def an_impostor_replaces_one_then_grant(dialog):
        service.delete("pump11", "another admin")
        register(client, {**document("pump11"), "password": "impostor-pw"})  # same name, another request
        dialog.confirm_button.click()

    answer_bulk(monkeypatch, an_impostor_replaces_one_then_grant)
    window.registrations_tab.grant_selected_action.trigger()
    qtbot.waitUntil(lambda: len(messages) == 1)
    assert messages[0].startswith("1 of 2 could not be granted:\npump11: the request of pump11 that was reviewed")
    assert service.details("pump11").status == "pending"  # the impostor waits for a review of its own
    qtbot.waitUntil(lambda: status_of(window, "pump10") == "granted")
