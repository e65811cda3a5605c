"""What the window tells the administrator where they look: a review that went
stale, refusals, the insecure --no-tls mode, and where agents connect."""

from __future__ import annotations

import pytest

from gui.main_window import MainWindow
from gui.review_dialog import ReviewDialog
from wiring import start_server
from tests.gui.agents import document, register
from tests.gui.test_main_window import admin_cli, answer_review, open_registry, review, row_of, status_of, told


@pytest.mark.parametrize("change, told_as", [(("delete",), "deleted"), (("grant",), "granted"),
                                             (("reject", "--reason", "dup"), "rejected")])
def test_an_open_review_learns_that_its_request_changed_meanwhile(qtbot, window, client, service, tmp_path,
                                                                  change, told_as):
    open_registry(qtbot, window)
    register(client, document("press12"))
    qtbot.waitUntil(lambda: status_of(window, "press12") == "pending")
    dialog = ReviewDialog(service.details("press12"), window, window.registrations)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.stale_notice.isVisible() and dialog.grant_button.isEnabled()

    admin_cli(tmp_path, change[0], "press12", *change[1:])  # another administrator, another process
    qtbot.waitUntil(dialog.stale_notice.isVisible)
    assert dialog.stale_notice.text().startswith(f"press12 was {told_as} meanwhile")
    assert not dialog.grant_button.isEnabled() and not dialog.reject_button.isEnabled()
    assert dialog.cancel_button.text() == "Close" and dialog.cancel_button.hasFocus()


def test_a_review_of_another_request_stays_as_it_is(qtbot, window, client, service, tmp_path):
    open_registry(qtbot, window)
    register(client, document("press13"))
    register(client, document("press14"))
    qtbot.waitUntil(lambda: status_of(window, "press14") == "pending")
    dialog = ReviewDialog(service.details("press13"), window, window.registrations)
    qtbot.addWidget(dialog)
    admin_cli(tmp_path, "delete", "press14")
    qtbot.waitUntil(lambda: status_of(window, "press14") is None)
    assert not dialog.stale_notice.isVisibleTo(dialog) and dialog.grant_button.isEnabled()


REPLACED = ("Refused: the request of alice that was reviewed was deleted, expired or replaced meanwhile; "
            "nothing changed: review the current one")


@pytest.mark.parametrize("button", ["grant_button", "reject_button"])
def test_a_decision_on_a_request_replaced_by_an_impostor_meanwhile_is_refused(
        qtbot, monkeypatch, window, client, service, tmp_path, button):
    messages = told(monkeypatch)
    open_registry(qtbot, window)
    register(client, document("alice"))
    qtbot.waitUntil(lambda: status_of(window, "alice") == "pending")
    reviewed_id = row_of(window, "alice").id
    register(client, document("alice"), expected=409)  # another key cannot replace a pending request

    def replaced_while_the_dialog_is_open(dialog):
        admin_cli(tmp_path, "delete", "alice")  # another administrator, another process
        register(client, document("alice"))  # the impostor, with its own CSR
        getattr(dialog, button).click()  # before the window's next read could tell the dialog

    dialogs = answer_review(monkeypatch, replaced_while_the_dialog_is_open)
    review(qtbot, window, "alice")
    qtbot.waitUntil(lambda: len(messages) > 0)
    assert messages == [REPLACED]
    assert dialogs[0].decision.reviewed.id == reviewed_id
    now = service.details("alice")
    assert now.status == "pending" and now.reviewed.id != reviewed_id  # the impostor still waits
    qtbot.waitUntil(lambda: row_of(window, "alice") is not None and row_of(window, "alice").id == now.reviewed.id)
    assert status_of(window, "alice") == "pending"


def test_an_open_review_learns_that_its_request_was_replaced(qtbot, window, client, service, tmp_path):
    open_registry(qtbot, window)
    register(client, document("alice"))
    qtbot.waitUntil(lambda: status_of(window, "alice") == "pending")
    dialog = ReviewDialog(service.details("alice"), window, window.registrations)
    qtbot.addWidget(dialog)
    dialog.show()
    window.sync.stop()  # both changes reach the window in one read
    admin_cli(tmp_path, "delete", "alice")
    register(client, document("alice"))
    window.sync.poll()
    qtbot.waitUntil(dialog.stale_notice.isVisible)
    assert dialog.stale_notice.text().startswith("alice was deleted and requested anew meanwhile")
    assert not dialog.grant_button.isEnabled() and not dialog.reject_button.isEnabled()

    again = ReviewDialog(dialog._details, window, window.registrations)  # the old details, opened late
    qtbot.addWidget(again)
    assert again.stale_notice.text().startswith("alice was deleted and requested anew meanwhile")
    assert not again.grant_button.isEnabled()


def test_a_certificate_gone_before_export_is_told_in_a_message_box(qtbot, monkeypatch, window, client, tmp_path):
    messages = told(monkeypatch)
    open_registry(qtbot, window)
    register(client, document("press15"))
    admin_cli(tmp_path, "grant", "press15")
    qtbot.waitUntil(lambda: window.registrations_tab.select_username("press15")
                    and window.registrations_tab.export_action.isEnabled())
    admin_cli(tmp_path, "delete", "press15")
    window.registrations_tab.export_action.trigger()
    qtbot.waitUntil(lambda: len(messages) > 0)
    assert messages == ["Refused: there is no registration named 'press15'"]


def test_without_tls_a_loud_banner_says_so(qtbot, service, tmp_path, settings):
    plain = start_server(service, tmp_path / "data", "127.0.0.1", 0, tls=False)
    try:
        window = MainWindow(service, plain.agent_urls, settings)
        qtbot.addWidget(window)
        window.show()
        assert window.insecure_banner.isVisible()
        assert window.insecure_banner.text().startswith("TLS IS OFF (--no-tls)")
        assert window.state_panel.address_label.text() == plain.url
    finally:
        plain.stop()


def test_with_tls_there_is_no_banner(window):
    assert not window.insecure_banner.isVisible()


def test_a_wildcard_address_is_listed_as_the_urls_agents_can_type(qtbot, service, tmp_path, settings):
    everywhere = start_server(service, tmp_path / "data", "0.0.0.0", 0)
    try:
        window = MainWindow(service, everywhere.agent_urls, settings)
        qtbot.addWidget(window)
        shown = window.state_panel.address_label.text() + window.state_panel.address_label.toolTip()
        assert "0.0.0.0" not in shown
        assert everywhere.agent_urls[0] in shown
        assert all(url.startswith("https://") and url.endswith(f":{everywhere.port}")
                   for url in everywhere.agent_urls)
    finally:
        everywhere.stop()
