"""The pre-authorisations tab: list, add, import and remove, all in the background,
and the list following changes made elsewhere (the command line, a device using one)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontInfo

from common.fingerprints import key_fingerprint
from gui import prompts
from gui.bulk_dialog import BulkChoice, BulkDecisionDialog
from gui.preauthorization_dialog import NewPreauthorization, PreauthorizationDialog
from gui.preauthorizations_model import EXPIRES, FINGERPRINT, PERMISSIONS, ROLES, STATE, USERNAME, PreauthorizationsModel
from server.validation import Permission
from server.views import PreauthorizationView
from storage import close_db, db
from tests.gui.agents import document, register
from tests.gui.test_main_window import status_of, told
from tests.helpers import make_csr

FINGERPRINT_HEX = "ab" * 32


def view(username: str, state: str = "unused", **fields) -> PreauthorizationView:
    values = dict(username=username, key_fingerprint=FINGERPRINT_HEX, roles=("operator",),
                  permissions=(Permission(context="mqtt", operation="read", resource="plant/#"),), created_at=1.7e9, created_by="admin (cli)",
                  expires_at=None, used_at=None, state=state)
    values.update(fields)
    return PreauthorizationView(**values)


def device(username: str) -> tuple[dict, str]:
    """A registration document with a fresh key, and that key's fingerprint."""
    body = document(username)
    body["csr"], key = make_csr(username)
    return body, key_fingerprint(key.public_key())


def tab_of(window):
    return window.preauthorizations_tab


def listed(window) -> dict[str, str]:
    model = tab_of(window).model
    return {model.view(row).username: model.view(row).state for row in range(model.rowCount())}


def answer_add(monkeypatch, *answers) -> list:
    """The add dialog's seam: hand out ``answers`` in turn (then None); record what it was opened with."""
    queue, opened = list(answers), []

    def ask(parent, initial=None):
        opened.append(initial)
        return queue.pop(0) if queue else None

    monkeypatch.setattr(PreauthorizationDialog, "ask", staticmethod(ask))
    return opened


def test_the_model_passes_qt_model_checks_and_follows_each_read(qtmodeltester):
    model = PreauthorizationsModel()
    model.replace([view("pump1"), view("pump2", expires_at=1.8e9), view("pump3", "used", used_at=1.7e9)])
    qtmodeltester.check(model, force_py=True)
    assert [model.index(row, USERNAME).data() for row in range(3)] == ["pump1", "pump2", "pump3"]
    assert model.index(0, FINGERPRINT).data() == " ".join(["abababab"] * 8)
    assert QFontInfo(model.index(0, FINGERPRINT).data(Qt.ItemDataRole.FontRole)).fixedPitch()
    assert model.index(0, ROLES).data() == "operator"
    assert model.index(0, PERMISSIONS).data() == "mqtt · read · plant/#"
    assert model.index(0, EXPIRES).data() == "never"
    assert model.index(2, STATE).data() == "used"
    first = model.index(0, USERNAME)
    model.replace([view("PUMP3", "used", used_at=1.7e9), view("pump1", "expired"), view("pump4")])
    assert [model.index(row, USERNAME).data() for row in range(3)] == ["pump1", "PUMP3", "pump4"]
    assert [model.index(row, STATE).data() for row in range(3)] == ["expired", "used", "unused"]
    assert first.isValid() and first.data() == "pump1"
    model.replace([])
    assert model.rowCount() == 0


def test_the_dialog_returns_what_was_typed(qtbot):
    dialog = PreauthorizationDialog(initial=NewPreauthorization("pump1", "AB:CD", ("operator",),
                                                                ("mqtt:read:plant/#",), 48.0))
    qtbot.addWidget(dialog)
    dialog.roles_edit.setPlainText("operator\n\n  viewer ")
    dialog.permissions_edit.appendPlainText("mqtt:write:plant/cmd")
    dialog.add_button.click()
    assert dialog.entry == NewPreauthorization("pump1", "AB:CD", ("operator", "viewer"),
                                               ("mqtt:read:plant/#", "mqtt:write:plant/cmd"), 48.0)
    never = PreauthorizationDialog()
    qtbot.addWidget(never)
    assert never.typed().expires_hours is None and never.expires_box.text() == "never (until used)"


def test_a_device_added_in_the_window_is_granted_on_arrival_and_shown_used(qtbot, monkeypatch, window, client):
    body, fingerprint = device("pump1")
    answer_add(monkeypatch, NewPreauthorization("pump1", fingerprint.upper(), ("operator",),
                                                ("mqtt:read:plant/line1/#",), 24))
    window.show_tab(2)
    assert window.tabs.currentWidget() is tab_of(window)
    tab_of(window).add_action.trigger()
    qtbot.waitUntil(lambda: listed(window) == {"pump1": "unused"})
    assert window.statusBar().currentMessage() == "Pre-authorised pump1"
    assert tab_of(window).model.index(0, EXPIRES).data() != "never"

    granted = register(client, body, expected=201)  # the registry is locked: granted on arrival all the same
    assert granted.json["permissions"] == [body["permissions"][0]]  # what the pre-authorisation allows
    qtbot.waitUntil(lambda: listed(window) == {"pump1": "used"})
    qtbot.waitUntil(lambda: status_of(window, "pump1") == "granted")


def test_a_refused_entry_is_told_and_the_dialog_opens_again_with_what_was_typed(qtbot, monkeypatch, window):
    messages = told(monkeypatch)
    typo = NewPreauthorization("pump2", "not-hex", ("operator",))
    opened = answer_add(monkeypatch, typo)
    tab_of(window).add()
    qtbot.waitUntil(lambda: len(opened) == 2)
    assert messages and messages[0].startswith("Refused: ")
    assert opened == [None, typo]
    assert listed(window) == {}


def test_import_adds_every_line_of_a_good_file(qtbot, monkeypatch, window, tmp_path):
    csv_file = tmp_path / "devices.csv"
    csv_file.write_text("username,fingerprint,roles,permissions\n"
                        f"pump3,{'cd' * 32},operator;viewer,mqtt:read:plant/#\n"
                        f"pump4,{'ef' * 32},,\n")
    monkeypatch.setattr(prompts, "ask_preauthorization_csv", lambda parent: csv_file)
    tab_of(window).import_action.trigger()
    qtbot.waitUntil(lambda: listed(window) == {"pump3": "unused", "pump4": "unused"})
    assert window.statusBar().currentMessage() == "Pre-authorised 2 devices from devices.csv"


def test_a_bad_file_is_refused_whole_with_the_cores_message(qtbot, monkeypatch, window, service, tmp_path):
    messages = told(monkeypatch)
    csv_file = tmp_path / "devices.csv"
    csv_file.write_text("username,fingerprint,roles,permissions\n"
                        f"pump5,{'cd' * 32},operator,\n"
                        "pump6,zz,operator,\n")
    monkeypatch.setattr(prompts, "ask_preauthorization_csv", lambda parent: csv_file)
    tab_of(window).import_csv()
    qtbot.waitUntil(lambda: len(messages) == 1)
    assert messages[0].startswith("Refused: 1 bad line, nothing imported: line 3: ")
    assert service.preauthorizations() == []


def test_remove_asks_first_and_changes_elsewhere_show_without_a_click(qtbot, monkeypatch, window, service):
    service.preauthorize("pump7", "12" * 32, "admin (cli)")  # as the command line would
    service.preauthorize("pump8", "34" * 32, "admin (cli)")
    qtbot.waitUntil(lambda: listed(window) == {"pump7": "unused", "pump8": "unused"})
    tab = tab_of(window)
    assert not tab.remove_action.isEnabled()
    assert tab.select_username("pump7")
    asked = []
    monkeypatch.setattr(prompts, "confirm_unpreauthorize", lambda parent, username: asked.append(username) or False)
    tab.remove_action.trigger()
    assert asked == ["pump7"]
    monkeypatch.setattr(prompts, "confirm_unpreauthorize", lambda parent, username: True)
    tab.remove_action.trigger()
    qtbot.waitUntil(lambda: listed(window) == {"pump8": "unused"})
    assert window.statusBar().currentMessage() == "Removed the pre-authorisation of pump7"


def test_the_gui_thread_never_touches_the_database_for_fleet_work(qtbot, monkeypatch, window, client):
    close_db()  # the fixtures' set-up used this thread; from here on only the window runs here
    answer_add(monkeypatch, NewPreauthorization("pump9", "56" * 32))
    tab_of(window).add()
    qtbot.waitUntil(lambda: listed(window) == {"pump9": "unused"})
    window.open_registry()
    qtbot.waitUntil(lambda: window.state_panel.state_label.text() == "Open")
    register(client, document("pump10"))
    register(client, document("pump11"))
    qtbot.waitUntil(lambda: status_of(window, "pump11") == "pending")
    window.registrations_tab.table.selectAll()
    monkeypatch.setattr(BulkDecisionDialog, "ask", staticmethod(
        lambda parent, action, requests: BulkChoice(action, tuple(details.username for details in requests))))
    window.registrations_tab.grant_selected_action.trigger()
    qtbot.waitUntil(lambda: status_of(window, "pump10") == status_of(window, "pump11") == "granted")
    assert db.is_closed()  # peewee's connection state is per thread: none was opened here
