"""What the window tells the administrator where they look: the insecure --no-tls
mode, and where agents connect."""

from __future__ import annotations

from gui.main_window import MainWindow
from server.bootstrap import start_server


def test_without_tls_a_loud_banner_says_so(qtbot, service, tmp_path, settings):
    plain = start_server(service, tmp_path / "data", "127.0.0.1", 0, tls=False)
    try:
        window = MainWindow(service, plain.agent_urls, settings)
        qtbot.addWidget(window)
        window.show()
        assert window.insecure_banner.isVisible()
        assert window.insecure_banner.text().startswith("TLS IS OFF (--no-tls)")
        assert window.state_panel.address_label.text() == plain.url
    finally:
        plain.stop()


def test_with_tls_there_is_no_banner(window):
    assert not window.insecure_banner.isVisible()


def test_a_wildcard_address_is_listed_as_the_urls_agents_can_type(qtbot, service, tmp_path, settings):
    everywhere = start_server(service, tmp_path / "data", "0.0.0.0", 0)
    try:
        window = MainWindow(service, everywhere.agent_urls, settings)
        qtbot.addWidget(window)
        shown = window.state_panel.address_label.text() + window.state_panel.address_label.toolTip()
        assert "0.0.0.0" not in shown
        assert everywhere.agent_urls[0] in shown
        assert all(url.startswith("https://") and url.endswith(f":{everywhere.port}")
                   for url in everywhere.agent_urls)
    finally:
        everywhere.stop()
