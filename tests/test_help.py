"""``--help`` is read in a terminal: no reStructuredText or Markdown markup in it."""

from __future__ import annotations

import pytest

import main


@pytest.mark.parametrize("arguments", [["--help"], ["admin", "--help"], ["admin", "grant", "--help"],
                                       ["enroll", "--help"]])
def test_help_texts_carry_no_markup_backticks(capsys, arguments):
    assert main.main(arguments) == 0
    text = capsys.readouterr().out
    assert "usage:" in text
    assert "`" not in text
