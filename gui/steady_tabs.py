"""A tab widget whose tab titles and page contents may change often without repainting its pages.

``QTabWidget`` answers every layout request by setting its layout up anew and
repainting itself whole (``QTabWidget::event`` → ``setUpLayout()`` →
``update()``, qtabwidget.cpp), and it gets one whenever anything inside it asks
for a new layout: its tab bar after ``setTabText`` (``QTabBarPrivate::refresh``
calls ``updateGeometry``), and the current page after any label in it takes a
new text (``QLayout::activate`` ends in ``updateGeometry`` "ideally only if
sizeHint() or sizePolicy() has changed", and so climbs to the tab widget).
Repainting the page means repainting its table, every visible cell asked for
its text, colours and icons in Python: about 15 ms of a 20 ms window update, at
1280 pixels wide, twice per change (once for the tab title, once for the
counts line). When the pages keep their place, only the tab bar can have moved;
this widget then places the tab bar and repaints only the strip it covers.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QStackedWidget, QStyle, QStyleOptionTabWidgetFrame, QTabWidget

_PAGES = "qt_tabwidget_stackedwidget"  # the object name QTabWidget gives its page stack


class SteadyTabWidget(QTabWidget):
    """A ``QTabWidget`` that repaints its current page only when the page moves or resizes."""

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and self._place_tab_bar_only():
            return True
        return super().event(event)

    def _place_tab_bar_only(self) -> bool:
        """Place the tab bar where the style puts it; True when that was all the layout there
        was to do (the pages' rectangle, the tab bar's top and height unchanged), False when
        QTabWidget's own layout is needed."""
        pages = self.findChild(QStackedWidget, _PAGES, Qt.FindChildOption.FindDirectChildrenOnly)
        if (pages is None or not self.isVisible() or self.cornerWidget(Qt.Corner.TopLeftCorner)
                or self.cornerWidget(Qt.Corner.TopRightCorner)):
            return False
        option = QStyleOptionTabWidgetFrame()
        self.initStyleOption(option)
        style, bar = self.style(), self.tabBar()
        bar_rect = style.subElementRect(QStyle.SubElement.SE_TabWidgetTabBar, option, self)
        contents = style.subElementRect(QStyle.SubElement.SE_TabWidgetTabContents, option, self)
        old = bar.geometry()
        if contents != pages.geometry() or bar_rect.top() != old.top() or bar_rect.height() != old.height():
            return False
        if bar_rect != old:
            bar.setGeometry(bar_rect)
            self.update(old.united(bar_rect))  # what the old bar covered, and the pane's edge under it
        self.updateGeometry()  # as QTabWidget does: the size hints may have changed with the titles
        return True
