"""The window on a 1024×768 screen, and on one scaled by 1.5 (683×512 logical pixels):
everything in reach, and nothing moves when the registry opens or locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSize

from tests.gui.agents import document, register
from tests.gui.conftest import settle
from tests.gui.test_main_window import open_registry, state

REPO = Path(__file__).resolve().parents[2]
SMALL_SCREEN = QSize(1024, 768)


def layout_of(window) -> dict:
    """Where everything a click may aim at is, and how small the window may get."""
    panel = window.state_panel
    widgets = {"panel": panel, "toggle": panel.toggle_button, "copy": panel.copy_button, "tabs": window.tabs,
               "table": window.registrations_tab.table, "explanation": panel.explanation_label,
               "fingerprint": panel.fingerprint_label}
    settle()
    where = {name: widget.mapTo(window, widget.rect().topLeft()).toTuple() + widget.size().toTuple()
             for name, widget in widgets.items()}
    where["window"] = window.size().toTuple()
    where["minimum"] = window.minimumSizeHint().toTuple()
    return where


def test_the_window_fits_1024x768_and_keeps_its_layout_when_it_opens_and_locks(qtbot, window, client):
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: window.size() == QSize(1000, 700))
    locked = layout_of(window)
    open_registry(qtbot, window)
    register(client, document("press1"))
    qtbot.waitUntil(lambda: window.registrations.rowCount() == 1)
    opened = layout_of(window)
    window.state_panel.toggle_button.click()
    qtbot.waitUntil(lambda: state(window) == "Locked")
    locked_again = layout_of(window)

    assert opened == locked == locked_again
    minimum = QSize(*locked["minimum"])
    assert minimum.width() <= SMALL_SCREEN.width() and minimum.height() <= SMALL_SCREEN.height()


def test_the_state_panel_stacks_on_a_narrow_window_instead_of_widening_it(qtbot, window):
    window.resize(620, 520)
    qtbot.waitUntil(lambda: window.size() == QSize(620, 520))
    settle()
    panel = window.state_panel
    assert not panel.divider.isVisible()
    facts_top = panel.facts_block.mapTo(panel, panel.facts_block.rect().topLeft()).y()
    assert facts_top >= panel.state_block.geometry().bottom()  # below the state, not beside it
    assert panel.toggle_button.geometry().right() <= panel.width()


def test_on_a_screen_scaled_by_1_5_the_window_and_the_review_dialog_stay_within_reach(tmp_path):
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "control-room", "x": 0, "y": 0, "width": 1024,
                                               "height": 768, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    environment = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}", QT_SCALE_FACTOR="1.5")
    child = subprocess.run([sys.executable, "-m", "tests.gui.scaled_probe", str(tmp_path / "data")],
                           cwd=REPO, env=environment, capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    screen = report["available"]
    assert screen == [0, 0, 683, 512]  # 1024×768 at 1.5
    assert report["window_minimum"][0] <= screen[2] and report["window_minimum"][1] <= screen[3]
    dialog = report["dialog"]
    assert dialog[2] <= screen[2] and dialog[3] <= screen[3]
    for name in ("grant", "reject", "cancel", "reason"):
        x, y, width, height = report[name]
        assert width > 0 and height > 0, name
        assert 0 <= x and x + width <= screen[2] and 0 <= y and y + height <= screen[3], name
