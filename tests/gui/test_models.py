"""The table models on their own: Qt's model checks, incremental changes, filtering."""

from __future__ import annotations


from PySide6.QtCore import QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from gui.audit_model import AuditModel
from gui.registrations_model import (
    EXPIRES, PERMISSIONS, ROLES, STATUS, SUMMARY_ROLE, USERNAME, VIA, RegistrationsModel, StatusFilter,
)
from gui.theme import EXPIRY_COLOURS, LIGHT
from server.statuses import VIA_API, VIA_EST
from server.views import AuditRecord, RegistrationSummary
from tests.helpers import FakeClock

DAY = 86_400


def summary(registration_id: int, status: str = "pending", **fields) -> RegistrationSummary:
    values = dict(
        id=registration_id, username=f"agent{registration_id}", status=status, roles=("operator",),
        permission_count=2, key_description="EC P-256", source_address="192.0.2.7",
        requested_at=1_700_000_000.0 + registration_id, last_poll_at=1_700_000_100.0,
        certificate_serial=None, certificate_not_after=None, revision=registration_id,
    )
    values.update(fields)
    return RegistrationSummary(**values)


def usernames(model) -> list[str]:
    return [model.index(row, USERNAME).data() for row in range(model.rowCount())]


def test_registrations_model_passes_qt_model_checks(qtmodeltester):
    clock = FakeClock(1.7e9)
    model = RegistrationsModel(clock=clock)
    model.apply([summary(1), summary(2, "granted", certificate_serial="ab12", certificate_not_after=1.8e9),
                 summary(3, "rejected", key_description=None),
                 summary(4, "granted", certificate_serial="cd34", certificate_not_after=clock() + 3 * DAY),
                 summary(5, "granted", certificate_serial="ef56", certificate_not_after=clock() - DAY,
                         enrolled_via=VIA_EST)])
    qtmodeltester.check(model, force_py=True)


def test_certificates_within_30_days_of_their_end_or_past_it_stand_out(qtbot):
    clock = FakeClock(1.7e9)
    model = RegistrationsModel(clock=clock)
    model.apply([summary(1, "granted", certificate_serial="a1", certificate_not_after=clock() + 100.5 * DAY),
                 summary(2, "granted", certificate_serial="b2", certificate_not_after=clock() + 12.5 * DAY),
                 summary(3, "granted", certificate_serial="c3", certificate_not_after=clock() - 3.2 * DAY),
                 summary(4)])

    def marks(row: int):
        index = model.index(row, EXPIRES)
        return (index.data(Qt.ItemDataRole.ToolTipRole), index.data(Qt.ItemDataRole.ForegroundRole),
                index.data(Qt.ItemDataRole.DecorationRole) is not None)

    colours = {state: QColor(colour) for state, colour in EXPIRY_COLOURS[LIGHT].items()}
    assert marks(0) == ("expires in 100 days", None, False)
    assert marks(1) == ("expires in 12 days", colours["expiring"], True)
    assert marks(2) == ("expired 3 days ago", colours["expired"], True)
    assert marks(3) == (None, None, False)  # no certificate, nothing to say

    clock.advance(71 * DAY)  # the service's clock decides, not the process's
    with qtbot.waitSignal(model.dataChanged) as changed:
        model.times_passed()  # the window's minute tick: the view repaints the column
    assert (changed.args[0].column(), changed.args[1].column(), changed.args[1].row()) == (EXPIRES, EXPIRES, 3)
    assert marks(0) == ("expires in 29 days", colours["expiring"], True)
    assert marks(1)[0] == "expired 58 days ago"


def test_the_via_column_tells_est_enrolments_apart(qtmodeltester):
    model = RegistrationsModel()
    model.apply([summary(1, enrolled_via=VIA_API), summary(2, enrolled_via=VIA_EST)])
    assert [model.index(row, VIA).data() for row in range(2)] == ["API", "EST"]
    assert model.index(1, VIA).data(Qt.ItemDataRole.ToolTipRole) == "Enrolled over EST (RFC 7030)"
    model.sort(VIA, Qt.SortOrder.DescendingOrder)
    assert usernames(model) == ["agent2", "agent1"]
    qtmodeltester.check(model, force_py=True)


def test_apply_inserts_new_rows_and_updates_known_ones_in_place(qtbot):
    model = RegistrationsModel()
    added = model.apply([summary(1), summary(2)])
    assert [row.id for row in added] == [1, 2]
    with qtbot.waitSignal(model.dataChanged) as changed, qtbot.assertNotEmitted(model.rowsInserted):
        added = model.apply([summary(2, "granted", roles=("operator", "viewer"))])
    assert added == []
    assert changed.args[0].row() == 1
    assert model.index(1, STATUS).data() == "Granted"
    assert model.index(1, ROLES).data() == "operator, viewer"
    assert model.index(1, PERMISSIONS).data() == "2"
    assert (model.count("pending"), model.count("granted")) == (1, 1)


def test_keep_only_removes_deleted_rows_in_runs_and_keeps_lookups_right(qtbot):
    model = RegistrationsModel()
    model.apply([summary(i) for i in range(1, 9)])
    model.keep_only({1, 4, 5, 8})
    assert usernames(model) == ["agent1", "agent4", "agent5", "agent8"]
    assert model.count("pending") == 4
    # The id -> row lookup still points at the right rows after removal.
    model.apply([summary(5, "rejected")])
    assert model.index(2, STATUS).data() == "Rejected"
    assert model.index(2, USERNAME).data() == "agent5"


def test_status_filter_shows_one_status_and_follows_changes(qtmodeltester):
    model = RegistrationsModel()
    model.apply([summary(1), summary(2, "granted"), summary(3)])
    proxy = StatusFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    proxy.set_status("pending")
    assert usernames(proxy) == ["agent1", "agent3"]
    model.apply([summary(3, "granted"), summary(4)])
    assert usernames(proxy) == ["agent1", "agent4"]
    proxy.sort(USERNAME, Qt.SortOrder.DescendingOrder)
    assert usernames(proxy) == ["agent4", "agent1"]
    proxy.sort(-1)
    model.apply([summary(0)])
    assert usernames(proxy) == ["agent4", "agent1", "agent0"]
    proxy.set_status(None)
    assert usernames(proxy) == ["agent4", "agent3", "agent2", "agent1", "agent0"]
    assert proxy.index(1, 0).data(SUMMARY_ROLE).status == "granted"


def test_sorting_uses_values_not_text_and_keeps_rows_in_place_as_they_change(qtmodeltester):
    model = RegistrationsModel()
    model.apply([summary(1, permission_count=10), summary(2, permission_count=9), summary(3, "granted")])
    proxy = StatusFilter()
    proxy.setSourceModel(model)
    proxy.set_status("pending")
    proxy.sort(PERMISSIONS, Qt.SortOrder.AscendingOrder)  # what a click on the header does
    assert usernames(proxy) == ["agent2", "agent1"]  # 9 before 10, which text order would not give
    model.apply([summary(4, permission_count=1), summary(2, permission_count=11)])
    assert usernames(proxy) == ["agent4", "agent1", "agent2"]
    proxy.sort(PERMISSIONS, Qt.SortOrder.DescendingOrder)
    assert usernames(proxy) == ["agent2", "agent1", "agent4"]
    qtmodeltester.check(model, force_py=True)  # sorting lives in the model; the proxy has its own test
    proxy.sort(-1)  # back to the database's order for rows that arrive from now on
    model.apply([summary(5, permission_count=50)])
    assert usernames(proxy)[-1] == "agent5"


def test_a_selection_follows_its_row_when_sorting_moves_it(qtbot):
    model = RegistrationsModel()
    model.apply([summary(1, username="zeta"), summary(2, username="alpha")])
    selected = QPersistentModelIndex(model.index(0, USERNAME))
    model.sort(USERNAME)
    assert selected.row() == 1 and selected.data() == "zeta"


def record(record_id: int) -> AuditRecord:
    return AuditRecord(record_id, 1_700_000_000.0 + record_id, "alice (window)", "open", None, f"entry {record_id}")


def test_audit_model_passes_qt_model_checks_and_keeps_newest_first(qtmodeltester):
    model = AuditModel(max_rows=4)
    model.add_newest([record(3), record(2), record(1)])
    qtmodeltester.check(model, force_py=True)
    model.add_newest([record(5), record(4), record(3)])  # 3 is already shown
    assert [model.index(row, 4).data() for row in range(model.rowCount())] == [
        "entry 5", "entry 4", "entry 3", "entry 2"]
    assert model.newest_id == 5


def test_replace_keeps_row_identity():
    # A deleted last row's id can come back for a new registration (SQLite rowids):
    # the model treats it as the same row with new content, keeping counts right.
    model = RegistrationsModel()
    model.apply([summary(1, "granted")])
    model.apply([summary(1)._replace(username="newcomer")])
    assert usernames(model) == ["newcomer"]
    assert (model.count("granted"), model.count("pending")) == (0, 1)
