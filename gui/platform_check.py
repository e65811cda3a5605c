"""Can the window open at all? Asked before Qt is, because Qt's answer is an abort.

Without a display, or with the X11 plugin's system libraries missing, creating
the QApplication prints "xcb-cursor0 is needed … reinstalling may fix this" and
aborts the process (and the server with it). This module looks first and says
in one line what is missing and what to do instead. It imports no Qt.
"""

from __future__ import annotations

import ctypes
import re
import socket
import sys
from collections.abc import Callable, Mapping

HEADLESS_HINT = "run the server alone with --headless (or give Qt a display)"

# What Qt's xcb platform plugin and the Qt libraries it loads link to, beyond a
# minimal Debian/Ubuntu (checked with ldd on PySide6's libqxcb.so and Qt6Gui/
# Widgets/DBus/XcbQpa): (soname, Debian/Ubuntu package).
XCB_LIBRARIES = (
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-image.so.0", "libxcb-image0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxcb-randr.so.0", "libxcb-randr0"),
    ("libxcb-shape.so.0", "libxcb-shape0"),
    ("libxcb-xfixes.so.0", "libxcb-xfixes0"),
    ("libxcb-xkb.so.1", "libxcb-xkb1"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libEGL.so.1", "libegl1"),
    ("libGL.so.1", "libgl1"),
    ("libfontconfig.so.1", "libfontconfig1"),
    ("libdbus-1.so.3", "libdbus-1-3"),
    ("libglib-2.0.so.0", "libglib2.0-0"),
)
# Platforms that need no window system: the user chose them knowingly.
_NO_DISPLAY_NEEDED = {"offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay", "minimalegl"}


def display_problem(environ: Mapping[str, str], system: str = sys.platform,
                    load: Callable[[str], object] = ctypes.CDLL,
                    reachable: Callable[[str], bool] | None = None) -> str | None:
    """Why the window cannot open here, in one line; None when it can (or Qt knows best).

    ``load`` tries to load a shared library by its soname, raising OSError when
    the dynamic loader cannot: the same search Qt's plugin will make.
    ``reachable`` tells whether an X display answers (``x_display_reachable``)."""
    if not (system.startswith("linux") or "bsd" in system):
        return None  # Windows and macOS always have their window system
    platforms = [entry.split(":")[0] for entry in environ.get("QT_QPA_PLATFORM", "").split(";") if entry]
    if platforms and all(platform in _NO_DISPLAY_NEEDED for platform in platforms):
        return None
    x11, wayland = bool(environ.get("DISPLAY")), bool(environ.get("WAYLAND_DISPLAY"))
    if not x11 and not wayland:
        return f"no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set); {HEADLESS_HINT}"
    uses_xcb = "xcb" in platforms or (x11 and not wayland and not platforms)
    if uses_xcb:
        missing = missing_libraries(load)
        if missing:
            sonames = ", ".join(soname for soname, _ in missing)
            packages = " ".join(package for _, package in missing)
            return (f"the window needs system libraries that are missing ({sonames}); on Debian or Ubuntu: "
                    f"sudo apt-get install {packages}; or {HEADLESS_HINT}")
        if not (reachable or x_display_reachable)(environ["DISPLAY"]):
            return f"cannot connect to the display {environ['DISPLAY']!r} (no X server answers there); {HEADLESS_HINT}"
    return None


_DISPLAY = re.compile(r"(?P<host>[^:]*):(?P<number>\d+)(\.\d+)?")


def x_display_reachable(display: str, seconds: float = 2.0) -> bool:
    """Whether an X server listens at ``display`` (":0", "unix:0", "host:10.0"), as Qt
    would connect: the local socket, in the file system or Linux's abstract namespace,
    or TCP port 6000 + N. A form this does not know is left to Qt."""
    match = _DISPLAY.fullmatch(display)
    if match is None:
        return True
    host, number = match["host"], int(match["number"])
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        return any(_connects(socket.AF_UNIX, address, seconds) for address in (path, "\0" + path))
    return _connects(socket.AF_INET, (host, 6000 + number), seconds)


def _connects(family: int, address, seconds: float) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(seconds)
        try:
            probe.connect(address)
        except OSError:
            return False
    return True


def missing_libraries(load: Callable[[str], object] = ctypes.CDLL) -> list[tuple[str, str]]:
    """The (soname, package) pairs of ``XCB_LIBRARIES`` that cannot be loaded."""
    missing = []
    for soname, package in XCB_LIBRARIES:
        try:
            load(soname)
        except OSError:
            missing.append((soname, package))
    return missing
