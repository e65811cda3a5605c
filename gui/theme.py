"""The window's look: Fusion with a light or a dark palette, following the system's scheme.

Every colour lives in one of the two palettes below; the style sheet names only
palette roles (``palette(base)``) plus the two state colours, so whatever the
scheme, text and borders keep their contrast, and tests can check that contrast
from the palette itself. A small proxy style draws what Fusion draws too faintly
for a control room: check box borders (an unticked SAN box must be seen) and
the keyboard focus ring.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleFactory

from gui import icons

LIGHT, DARK = "light", "dark"
Role, Group = QPalette.ColorRole, QPalette.ColorGroup

_PALETTES = {
    LIGHT: {
        Role.Window: "#f4f6f9", Role.Base: "#ffffff", Role.AlternateBase: "#f6f8fb",
        Role.WindowText: "#1f2937", Role.Text: "#1f2937", Role.ButtonText: "#1f2937",
        Role.Button: "#ffffff", Role.Light: "#ffffff", Role.Midlight: "#e7ebf0", Role.Mid: "#c5ccd6",
        Role.Dark: "#8b95a3", Role.Shadow: "#4b5563", Role.Highlight: "#2563c9", Role.HighlightedText: "#ffffff",
        Role.PlaceholderText: "#6b7280", Role.Link: "#1d4fa3", Role.ToolTipBase: "#ffffff",
        Role.ToolTipText: "#1f2937", Role.BrightText: "#ffffff",
    },
    DARK: {
        Role.Window: "#1d2126", Role.Base: "#15181c", Role.AlternateBase: "#1b1f24",
        Role.WindowText: "#e6e9ee", Role.Text: "#e6e9ee", Role.ButtonText: "#e6e9ee",
        Role.Button: "#2a3038", Role.Light: "#3a414b", Role.Midlight: "#2c323a", Role.Mid: "#4a525e",
        Role.Dark: "#0f1114", Role.Shadow: "#000000", Role.Highlight: "#2d6ad0", Role.HighlightedText: "#ffffff",
        Role.PlaceholderText: "#9aa3b0", Role.Link: "#8db4ee", Role.ToolTipBase: "#2a3038",
        Role.ToolTipText: "#e6e9ee", Role.BrightText: "#ffffff",
    },
}
# Disabled text: clearly dimmer than enabled text, still legible (about 2.5:1).
_DISABLED_TEXT = {LIGHT: "#9aa3af", DARK: "#6b7480"}
# Open and Locked, as text and as the panel's edge; each at least 4.5:1 on Base.
STATE_COLOURS = {
    LIGHT: {"open": "#1e7d3c", "locked": "#9b3a31", "insecure": "#b3261e"},
    DARK: {"open": "#5fd185", "locked": "#f2897e", "insecure": "#ff8a80"},
}
# Certificates near or past their end (gui/expiry.py), as table text; each at least
# 4.5:1 on Base and AlternateBase, the two backgrounds a table row has.
EXPIRY_COLOURS = {
    LIGHT: {"expiring": "#8a5100", "expired": "#b3261e"},
    DARK: {"expiring": "#f2c14e", "expired": "#ff8a80"},
}
# The check box border: text colour on the base, as strong as the text itself.
INDICATOR_BORDER_ROLE = Role.Text
FOCUS_ROLE = Role.Highlight

_STYLE_SHEET = """
#statePanel {{ background: palette(base); border: 1px solid palette(mid); border-radius: 8px; }}
#statePanel[state="open"] {{ border-left: 5px solid {open}; }}
#statePanel[state="locked"] {{ border-left: 5px solid {locked}; }}
#stateTitle {{ font-size: 20px; font-weight: 600; }}
#stateTitle[state="open"], #countdown {{ color: {open}; }}
#stateTitle[state="locked"] {{ color: {locked}; }}
#countdown {{ font-size: 20px; font-weight: 600; font-family: "DejaVu Sans Mono", monospace; }}
#muted, #caption {{ color: palette(placeholder-text); }}
#divider {{ color: palette(mid); }}
#dialogHeading {{ font-size: 16px; font-weight: 600; padding: 2px 0 6px 0; }}
#insecureBanner {{
    background: {insecure}; color: #ffffff; font-weight: 600; padding: 6px 10px; border-radius: 6px;
}}
#staleNotice {{ border: 2px solid {locked}; border-radius: 6px; padding: 6px 10px; font-weight: 600; }}
#reviewWarnings {{ border: 2px solid {expiring}; border-radius: 6px; padding: 6px 10px; font-weight: 600; }}
#toggleButton, #grantButton {{
    background: palette(highlight); color: palette(highlighted-text); border: 2px solid palette(highlight);
    border-radius: 5px; padding: 6px 16px; font-weight: 600;
}}
#toggleButton:focus, #grantButton:focus {{ border: 2px solid palette(window-text); }}
#toggleButton:disabled, #grantButton:disabled {{
    background: palette(mid); border-color: palette(mid); color: palette(placeholder-text);
}}
QTabWidget::pane {{ border: 1px solid palette(mid); border-radius: 6px; background: palette(base); top: -1px; }}
QTabBar::tab {{
    padding: 7px 16px; margin-right: 2px; color: palette(placeholder-text); background: transparent;
    border: none; border-bottom: 2px solid transparent;
}}
QTabBar::tab:selected {{ color: palette(window-text); border-bottom: 2px solid palette(highlight); font-weight: 600; }}
QTabBar::tab:hover, QTabBar::tab:focus {{ color: palette(window-text); }}
QTableView {{ border: none; gridline-color: palette(midlight); }}
QHeaderView::section {{
    background: palette(alternate-base); border: none; border-bottom: 1px solid palette(mid);
    border-right: 1px solid palette(midlight); padding: 5px 6px; color: palette(window-text); font-weight: 600;
}}
QGroupBox {{
    background: palette(base); border: 1px solid palette(mid); border-radius: 6px; margin-top: 14px;
    padding: 8px 6px 6px 6px;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; font-weight: 600; }}
QListWidget#tickList {{ border: 1px solid palette(mid); border-radius: 4px; }}
QListWidget#tickList::item {{ padding: 2px 0; }}
QToolBar {{ border: none; background: transparent; spacing: 4px; }}
"""


_current = LIGHT


def current_scheme() -> str:
    """The scheme ``apply_theme`` last applied (light until it runs)."""
    return _current


def expiry_colour(state: str) -> QColor:
    """The text colour of a certificate that is ``"expiring"`` or ``"expired"``, for the current scheme."""
    return QColor(EXPIRY_COLOURS[_current][state])


def system_scheme() -> str:
    """The desktop's scheme as Qt reports it; when it cannot tell, the system palette decides."""
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return DARK
    if scheme == Qt.ColorScheme.Light:
        return LIGHT
    return DARK if _system_window_colour().lightness() < 128 else LIGHT


@cache
def _system_window_colour() -> QColor:
    """The platform's window colour, read once: after ``apply_theme`` the palette is ours."""
    return QGuiApplication.palette().color(Role.Window)


def palette_for(scheme: str) -> QPalette:
    palette = QPalette()
    for role, colour in _PALETTES[scheme].items():
        palette.setColor(role, QColor(colour))
    for role in (Role.WindowText, Role.Text, Role.ButtonText):
        palette.setColor(Group.Disabled, role, QColor(_DISABLED_TEXT[scheme]))
    palette.setColor(Group.Disabled, Role.Highlight, palette.color(Role.Mid))
    # Keep the selection visible when the table loses focus to a dialog.
    palette.setColor(Group.Inactive, Role.Highlight, palette.color(Role.Highlight))
    palette.setColor(Group.Inactive, Role.HighlightedText, palette.color(Role.HighlightedText))
    return palette


def style_sheet(scheme: str) -> str:
    return _STYLE_SHEET.format(**STATE_COLOURS[scheme], **EXPIRY_COLOURS[scheme])


def apply_theme(app: QApplication, scheme: str | None = None) -> str:
    """Style ``app`` for ``scheme`` (default: the system's, followed when it changes); the scheme used."""
    _system_window_colour()  # before the first setPalette hides the platform's own
    global _current
    follow = scheme is None
    scheme = _current = scheme or system_scheme()
    if not isinstance(app.style(), ClearStyle):
        app.setStyle(ClearStyle())
    app.setPalette(palette_for(scheme))
    app.setStyleSheet(style_sheet(scheme))
    icons.set_scheme(scheme)
    if follow and not app.property("followsScheme"):
        app.setProperty("followsScheme", True)
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _: apply_theme(app))
    return scheme


class ClearStyle(QProxyStyle):
    """Fusion, with check box borders and focus rings drawn in full palette colours.

    Fusion outlines a check box in the window colour darkened by 40 %, which on
    a dark base is the base's own colour, and draws focus as a faint tint."""

    def __init__(self):
        super().__init__(QStyleFactory.create("Fusion"))

    def drawPrimitive(self, element, option, painter: QPainter, widget=None) -> None:
        super().drawPrimitive(element, option, painter, widget)
        if element in (QStyle.PrimitiveElement.PE_IndicatorCheckBox,
                       QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck):
            self._outline(painter, option, INDICATOR_BORDER_ROLE, 1.2, 0.5)
        elif element == QStyle.PrimitiveElement.PE_FrameFocusRect:
            # On a selected row the highlight is the background: ring it in the text drawn on it.
            selected = option.state & QStyle.StateFlag.State_Selected
            self._outline(painter, option, Role.HighlightedText if selected else FOCUS_ROLE, 2.0, 1.0)

    @staticmethod
    def _outline(painter: QPainter, option, role: Role, width: float, inset: float) -> None:
        group = Group.Disabled if not option.state & QStyle.StateFlag.State_Enabled else Group.Active
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(option.palette.color(group, role), width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        rect = QRectF(option.rect).adjusted(inset, inset, -inset, -inset)
        painter.drawRoundedRect(rect, 2, 2)
        painter.restore()
