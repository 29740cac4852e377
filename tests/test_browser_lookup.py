"""The browser lookup (tests/browser_lookup.py): order, snap stubs, and fail-in-CI / skip-elsewhere."""
import pytest

import browser_lookup


def fake_which(present):
    return lambda name: present.get(name)


def test_order_and_snap_stub(tmp_path, monkeypatch):
    monkeypatch.delenv('LENET_CHROMIUM', raising=False)
    stub = tmp_path / 'chromium-browser'
    stub.write_text('#!/bin/sh\necho "Command requires the chromium snap to be installed."\necho snap install chromium\n')
    chrome = tmp_path / 'google-chrome'
    chrome.write_bytes(b'\x7fELF binary')
    found = browser_lookup.find_chromium(fake_which({'chromium-browser': str(stub), 'google-chrome': str(chrome)}),
                                         managed=lambda: None)
    assert found == str(chrome), 'the snap stub must be passed over for the next real browser'
    real = tmp_path / 'chromium'
    real.write_bytes(b'\x7fELF')
    assert browser_lookup.find_chromium(fake_which({'chromium': str(real), 'google-chrome': str(chrome)}),
                                        managed=lambda: None) == str(real)
    assert browser_lookup.find_chromium(fake_which({}), managed=lambda: '/pw/chrome') == '/pw/chrome'


@pytest.mark.parametrize('ci, outcome', [('true', pytest.fail.Exception), ('', pytest.skip.Exception)])
def test_missing_browser_fails_in_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    monkeypatch.setenv('LENET_CHROMIUM', '/nowhere/chromium')
    monkeypatch.setenv('CI', ci)
    with pytest.raises(outcome, match='apt-get install chromium'):
        browser_lookup.chromium_or_skip()
