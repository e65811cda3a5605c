"""Readable in the light and the dark scheme: contrasts read from the palette and
the style sheet's colours, and checked once more on what Qt really paints."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QToolButton

from gui import icons
from gui.review_dialog import ReviewDialog
from gui.registrations_model import EXPIRES, RegistrationsModel
from gui.theme import DARK, EXPIRY_COLOURS, INDICATOR_BORDER_ROLE, LIGHT, STATE_COLOURS, apply_theme, palette_for
from tests.gui.test_models import DAY, summary
from tests.helpers import FakeClock
from tests.gui.agents import dns, document, register
from tests.gui.conftest import settle

Role, Group = QPalette.ColorRole, QPalette.ColorGroup
TEXT_CONTRAST = 4.5  # WCAG 2 AA for text
NON_TEXT_CONTRAST = 3.0  # WCAG 2.1 for the parts of a control one must see


def luminance(colour: QColor) -> float:
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())


def contrast(first: QColor, second: QColor) -> float:
    """The WCAG contrast ratio, 1 (none) to 21 (black on white)."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture(params=[LIGHT, DARK])
def scheme(request, qapp):
    apply_theme(qapp, request.param)
    return request.param


@pytest.fixture
def sans_dialog(qtbot, service, client, scheme):
    """A review dialog whose request asks for two SANs: unticked boxes, as the admin first sees them."""
    service.open("tester")
    register(client, document("press3", sans=[dns("press3.plant.local"), dns("press3.example")]))
    dialog = ReviewDialog(service.details("press3"))
    qtbot.addWidget(dialog)
    dialog.show()
    settle()
    return dialog


def test_the_scheme_follows_what_was_asked_for(qapp, scheme):
    window = qapp.palette().color(Role.Window)
    assert (window.lightness() < 128) == (scheme == DARK)


def test_unticked_san_boxes_are_clearly_visible(sans_dialog, scheme):
    san_list = sans_dialog.san_list
    palette = san_list.palette()
    base = palette.color(Role.Base)
    assert contrast(palette.color(INDICATOR_BORDER_ROLE), base) >= TEXT_CONTRAST
    assert contrast(palette.color(Role.Text), base) >= TEXT_CONTRAST
    # What is painted: the strongest edge inside the first row's check box area.
    assert san_list.item(0).checkState() == Qt.CheckState.Unchecked
    row = san_list.visualItemRect(san_list.item(0))
    image = san_list.viewport().grab().toImage()
    box_area = [QColor(image.pixel(QPoint(x, y))) for x in range(row.left(), row.left() + row.height() + 4)
                for y in range(row.top(), row.bottom())]
    assert max(contrast(pixel, base) for pixel in box_area) >= NON_TEXT_CONTRAST


def test_the_open_and_locked_colours_read_well_on_the_panel(scheme):
    base = palette_for(scheme).color(Role.Base)
    for state in ("open", "locked"):
        assert contrast(QColor(STATE_COLOURS[scheme][state]), base) >= TEXT_CONTRAST, state


def test_expiring_and_expired_certificates_read_well_on_both_table_row_colours(scheme):
    palette = palette_for(scheme)
    for state, colour in EXPIRY_COLOURS[scheme].items():
        for background in (Role.Base, Role.AlternateBase):
            assert contrast(QColor(colour), palette.color(background)) >= TEXT_CONTRAST, (state, background)
    assert EXPIRY_COLOURS[scheme]["expiring"] != EXPIRY_COLOURS[scheme]["expired"]


def test_the_table_marks_expiry_in_the_colours_of_the_scheme_in_use(qtbot, scheme):
    clock = FakeClock(1.7e9)
    model = RegistrationsModel(clock=clock)
    model.apply([summary(1, "granted", certificate_serial="a1", certificate_not_after=clock() + 5 * DAY)])
    marked = model.index(0, EXPIRES).data(Qt.ItemDataRole.ForegroundRole)
    assert marked == QColor(EXPIRY_COLOURS[scheme]["expiring"])


def test_the_state_title_is_painted_in_the_state_colour(qtbot, window, scheme):
    title = window.state_panel.state_label
    assert title.text() == "Locked"
    settle()
    assert title.palette().color(Role.WindowText) == QColor(STATE_COLOURS[scheme]["locked"])


def test_disabled_actions_look_disabled_and_stay_legible(qtbot, window, scheme):
    export = window.registrations_tab.export_action
    assert not export.isEnabled()  # nothing selected
    button = next(b for b in window.findChildren(QToolButton) if b.defaultAction() is export)
    assert not button.isEnabled()
    palette = button.palette()
    window_colour = palette.color(Role.Window)
    enabled = contrast(palette.color(Group.Active, Role.ButtonText), window_colour)
    disabled = contrast(palette.color(Group.Disabled, Role.ButtonText), window_colour)
    assert enabled >= TEXT_CONTRAST
    assert 2.0 <= disabled <= enabled / 2  # plainly dimmer, not gone


def test_the_focus_ring_and_selection_stand_out(scheme):
    palette = palette_for(scheme)
    assert contrast(palette.color(Role.Highlight), palette.color(Role.Base)) >= NON_TEXT_CONTRAST
    assert contrast(palette.color(Role.HighlightedText), palette.color(Role.Highlight)) >= TEXT_CONTRAST


def test_headers_show_their_titles_whole(qtbot, window, scheme):
    header = window.registrations_tab.table.horizontalHeader()
    metrics = header.fontMetrics()
    for column in range(header.count()):
        title = window.registrations.headerData(column, Qt.Orientation.Horizontal)
        assert header.sectionSize(column) >= metrics.horizontalAdvance(title) + 12, title


def test_dark_icons_are_recoloured_for_a_dark_background(scheme):
    painted = icons.icon("review").pixmap(24, 24).toImage()
    strokes = [QColor(painted.pixel(x, y)) for x in range(24) for y in range(24)
               if QColor(painted.pixel(x, y)).alpha() > 200]
    background = palette_for(scheme).color(Role.Window)
    assert strokes and max(contrast(stroke, background) for stroke in strokes) >= NON_TEXT_CONTRAST
