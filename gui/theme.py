"""The window's look: Fusion with a light palette and a small style sheet, the same on every platform."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#2563c9"

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: #f4f6f9; }}
#statePanel {{
    background: #ffffff; border: 1px solid #d9dee6; border-radius: 8px; padding: 8px 10px;
}}
#statePanel[state="open"] {{ border-left: 5px solid #2e9d4f; }}
#statePanel[state="locked"] {{ border-left: 5px solid #b9514a; }}
#stateTitle {{ font-size: 20px; font-weight: 600; color: #1f2937; }}
#stateTitle[state="open"] {{ color: #1e7d3c; }}
#stateTitle[state="locked"] {{ color: #8a3b32; }}
#countdown {{ font-size: 20px; font-weight: 600; color: #1e7d3c; font-family: "DejaVu Sans Mono", monospace; }}
#muted {{ color: #5b6472; }}
#caption {{ color: #5b6472; }}
#divider {{ color: #d9dee6; }}
#dialogHeading {{ font-size: 16px; font-weight: 600; color: #1f2937; padding: 2px 0 6px 0; }}
#toggleButton, #grantButton {{
    background: {ACCENT}; color: white; border: none; border-radius: 5px; padding: 7px 16px; font-weight: 600;
}}
#toggleButton:hover, #grantButton:hover {{ background: #1d4fa3; }}
#toggleButton:disabled {{ background: #9fb3d6; }}
QTabWidget::pane {{ border: 1px solid #d9dee6; border-radius: 6px; background: #ffffff; top: -1px; }}
QTabBar::tab {{
    padding: 7px 16px; margin-right: 2px; color: #4a5563; background: transparent;
    border: none; border-bottom: 2px solid transparent;
}}
QTabBar::tab:selected {{ color: #111827; border-bottom: 2px solid {ACCENT}; font-weight: 600; }}
QTabBar::tab:hover {{ color: #111827; }}
QTableView {{ border: none; gridline-color: #edf0f4; selection-background-color: #dbe7fb; selection-color: #111827; }}
QHeaderView::section {{
    background: #f7f8fa; border: none; border-bottom: 1px solid #d9dee6; border-right: 1px solid #edf0f4;
    padding: 5px 6px; color: #374151; font-weight: 600;
}}
QGroupBox {{
    background: #ffffff; border: 1px solid #d9dee6; border-radius: 6px; margin-top: 14px; padding: 8px 6px 6px 6px;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: #374151; font-weight: 600; }}
QListWidget#tickList {{ border: 1px solid #e3e7ed; border-radius: 4px; }}
QListWidget#tickList::item {{ padding: 2px 0; }}
QToolBar {{ border: none; background: transparent; spacing: 4px; }}
QStatusBar {{ color: #374151; }}
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = app.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#f4f6f9"))
    palette.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#f8fafc"))
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#dbe7fb"))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#111827"))
    palette.setColor(QPalette.ColorRole.Text, QColor("#1f2937"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#1f2937"))
    palette.setColor(QPalette.ColorRole.Button, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor("#1f2937"))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
