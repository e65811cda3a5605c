"""A tab title and the counts line follow each change without repainting the table under them."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel, QStyle, QStyleOptionTabWidgetFrame, QTableWidget, QVBoxLayout, QWidget

from gui.steady_tabs import SteadyTabWidget
from server.statuses import PENDING, REJECTED
from tests.gui.agents import document, register
from tests.gui.conftest import settle
from tests.gui.test_main_window import open_registry


class PaintCounter(QObject):
    """Counts the paint events one widget gets."""

    def __init__(self, widget: QWidget):
        super().__init__(widget)
        self.paints = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def tab_bar_rect(tabs: SteadyTabWidget):
    """Where the style puts the tab bar now, as QTabWidget's own layout would."""
    option = QStyleOptionTabWidgetFrame()
    tabs.initStyleOption(option)
    return tabs.style().subElementRect(QStyle.SubElement.SE_TabWidgetTabBar, option, tabs)


def test_a_new_title_or_label_text_repaints_the_tab_bar_and_the_label_not_the_page(qtbot):
    tabs = SteadyTabWidget()
    page, table, label = QWidget(), QTableWidget(50, 6), QLabel("3 pending")
    layout = QVBoxLayout(page)
    layout.addWidget(label)
    layout.addWidget(table)
    tabs.addTab(page, "&Registrations")
    tabs.addTab(QWidget(), "&Audit log")
    qtbot.addWidget(tabs)
    tabs.resize(900, 500)
    tabs.show()
    qtbot.waitExposed(tabs)
    settle()
    table_paints, label_paints = PaintCounter(table.viewport()), PaintCounter(label)

    for title in ("&Registrations (12,345 pending)", "&Registrations (1 pending)", "&Registrations"):
        tabs.tabBar().setTabText(0, title)
        label.setText(title)
        settle()
        assert tabs.tabText(0) == title
        assert tabs.tabBar().geometry() == tab_bar_rect(tabs)  # as wide as the new title needs
        assert tabs.tabBar().width() >= tabs.tabBar().sizeHint().width()
    assert label_paints.paints >= 3
    assert table_paints.paints == 0

    tabs.resize(700, 400)  # the page itself changes: it is laid out and repainted as ever
    settle()
    assert table.viewport().width() < 700 and table_paints.paints > 0


def test_after_a_change_arrives_the_tab_title_and_the_counts_show_the_new_numbers(qtbot, window, client, service):
    counts = window.registrations_tab.counts_label
    window.resize(1280, 760)  # room for all the counts
    open_registry(qtbot, window)
    register(client, document("camera8"))
    register(client, document("camera9"))
    qtbot.waitUntil(lambda: window.tabs.tabText(0) == "&Registrations (2 pending)", timeout=2000)
    assert f"2 {PENDING}" in counts.toolTip()

    service.reject("camera8", "admin:test", "wrong camera")
    qtbot.waitUntil(lambda: window.tabs.tabText(0) == "&Registrations (1 pending)", timeout=2000)
    assert f"1 {PENDING}" in counts.toolTip() and f"1 {REJECTED}" in counts.toolTip()
    assert counts.text() == counts.toolTip()
    bar = window.tabs.tabBar()
    settle()
    assert bar.width() >= bar.sizeHint().width()  # the whole title shows

    service.reject("camera9", "admin:test", "wrong camera")
    qtbot.waitUntil(lambda: window.tabs.tabText(0) == "&Registrations", timeout=2000)
    assert f"0 {PENDING}" in counts.text() and f"2 {REJECTED}" in counts.text()
