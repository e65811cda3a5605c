"""Before the window opens: a display to open it on, a sound Qt binding, and no
other registry on the same data folder. Each failure is one line, never an abort."""

from __future__ import annotations

import argparse
import ctypes
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import main
from gui import prompts
from gui.binding_check import binding_leaks, qt_signal_emitter, reference_drift
from gui.platform_check import XCB_LIBRARIES, display_problem, missing_libraries, x_display_reachable
from server.instance_lock import claim
from server.limits import Limits

REPO = Path(__file__).resolve().parents[2]


def loads_all(soname: str) -> None:
    return None


def lacks(*missing: str):
    def load(soname: str) -> None:
        if soname in missing:
            raise OSError(f"{soname}: cannot open shared object file")
    return load


def test_no_display_is_told_with_the_headless_hint():
    problem = display_problem({}, "linux", loads_all)
    assert "DISPLAY" in problem and "--headless" in problem


@pytest.mark.parametrize("environ", [{"QT_QPA_PLATFORM": "offscreen"}, {"QT_QPA_PLATFORM": "vnc:size=800x600"},
                                     {"DISPLAY": ":0"}, {"WAYLAND_DISPLAY": "wayland-0"}])
def test_a_display_or_a_platform_without_one_is_no_problem(environ):
    assert display_problem(environ, "linux", loads_all, reachable=lambda display: True) is None


def test_a_display_nobody_answers_at_is_told_instead_of_aborting():
    problem = display_problem({"DISPLAY": ":97"}, "linux", loads_all, reachable=lambda display: False)
    assert problem.startswith("cannot connect to the display ':97'") and "--headless" in problem


def test_an_x_display_is_reachable_where_something_listens_and_not_elsewhere():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        if port <= 6000:
            pytest.skip(f"the free port {port} is below X's 6000 + N")
        assert x_display_reachable(f"127.0.0.1:{port - 6000}")
    assert not x_display_reachable(f"127.0.0.1:{port - 6000}", seconds=1)
    assert not x_display_reachable(":97")  # no X server here on display 97


def test_other_systems_are_left_to_qt():
    assert display_problem({}, "win32", lacks("libxcb-cursor.so.0")) is None


def test_missing_x11_libraries_are_named_with_the_packages_to_install():
    problem = display_problem({"DISPLAY": ":0"}, "linux", lacks("libxcb-icccm.so.4", "libxcb-keysyms.so.1"),
                              reachable=lambda display: True)
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in problem
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1;" in problem
    assert "--headless" in problem


def test_the_library_check_uses_the_real_loader_here():
    # On this machine the suite's own window runs offscreen; whatever is missing is named by package.
    found = missing_libraries(ctypes.CDLL)
    assert all(package for _, package in found)
    assert missing_libraries(lacks(*(soname for soname, _ in XCB_LIBRARIES))) == list(XCB_LIBRARIES)


def test_without_a_display_main_exits_1_with_a_message_instead_of_aborting(tmp_path):
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path / "data"), "--port", "0"],
                          cwd=REPO, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr  # not 134 (abort) or -6
    assert "cannot start: no display to open the window on" in done.stderr
    assert "--headless" in done.stderr
    assert "xcb" not in done.stderr.lower()  # Qt was never asked
    assert not (tmp_path / "data").exists()  # nothing was started


def test_a_display_that_does_not_answer_is_exit_1_with_a_message_not_an_abort(tmp_path):
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")} | {"DISPLAY": ":97"}
    done = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path / "data"), "--port", "0"],
                          cwd=REPO, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr  # not 134: Qt was never asked
    # Where the X libraries are missing, that is said first; with them, the silent display.
    assert "cannot connect to the display ':97'" in done.stderr or "libraries that are missing" in done.stderr
    assert "--headless" in done.stderr


def test_a_binding_that_keeps_or_drops_references_on_each_emit_is_caught():
    kept = []
    assert reference_drift(lambda: kept.append(True), times=100) == 100
    assert binding_leaks(lambda: kept.append(True))

    def drop_one():  # what PySide6 6.12.0's emit does: True loses a reference it never had
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(True))

    try:
        assert binding_leaks(drop_one, times=100)
    finally:
        for _ in range(101):  # the warm-up call dropped one too
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))


def test_the_installed_binding_passes_the_check(qapp):
    assert not binding_leaks(qt_signal_emitter())


def window_args(data_dir: Path) -> argparse.Namespace:
    """What main() hands run_window, from main's own parser."""
    args = main.build_parser().parse_args(["--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", "0"])
    args.database, args.limits = None, Limits()
    return args


def test_a_second_window_on_the_same_data_folder_is_told_in_a_message_box(qapp, monkeypatch, tmp_path):
    first = claim(tmp_path / "data")  # as the first window holds it
    told = []
    monkeypatch.setattr(prompts, "tell_cannot_start", told.append)
    try:
        assert main.run_window(window_args(tmp_path / "data")) == 1
    finally:
        first.release()
    assert len(told) == 1
    assert told[0].startswith(f"another Client Registry already runs on {tmp_path / 'data'} (process {os.getpid()})")
