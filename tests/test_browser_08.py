"""What a student sees in notebook 08: JupyterLab 4 in a real (headless) Chromium at 1280x900.

Serves a temporary copy of notebooks/08_activations.ipynb (with autosave off, so nothing is written into
the working tree), runs it in quick mode and checks the feature-map explorer:
- it is rendered as controls, not as a text repr, and fits the window: controls above a picture that is
  shown at the size it was drawn (not stretched) and no taller than 600 px;
- moving the epoch slider changes the maps picture (and says which epoch it shows);
- pressing B under a thumbnail shows that image as input B.
Reuses the JupyterLab driver of tests/test_browser.py. LENET_SCREENSHOTS=DIR keeps screenshots of each step.
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import browser_lookup

from test_browser import (ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PANEL, ROOT, SERVER_START, Student,
                          free_port, write_user_settings)

NOTEBOOK = 'notebooks/08_activations.ipynb'
RUN_DONE = 900       # seconds: quick-mode training on a busy 2-core machine
UPDATE = 30          # seconds allowed for the picture to change (it takes well under one on a free machine)
EXPLORER = f'{PANEL} .lenet-explorer'


def shot(page, name):
    folder = os.environ.get('LENET_SCREENSHOTS')
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f'08-{name}.png'))


@pytest.fixture(scope='module')
def lab08(tmp_path_factory):
    global CHROMIUM
    CHROMIUM = browser_lookup.chromium_or_skip()  # a failure under CI=true, else a skip saying how to get one
    tmp = tmp_path_factory.mktemp('jupyter08')
    serve = tmp / 'serve'
    (serve / 'notebooks').mkdir(parents=True)
    shutil.copy(ROOT / NOTEBOOK, serve / NOTEBOOK)  # a copy: the run's outputs never reach the repository
    for sub in ('config', 'data', 'runtime', 'settings', 'workspaces'):
        (tmp / sub).mkdir()
    write_user_settings(tmp / 'settings')
    autosave = tmp / 'settings' / '@jupyterlab' / 'docmanager-extension' / 'plugin.jupyterlab-settings'
    autosave.parent.mkdir(parents=True, exist_ok=True)
    autosave.write_text(json.dumps({'autosave': False}))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(tmp / 'config'), JUPYTER_DATA_DIR=str(tmp / 'data'),
               JUPYTER_RUNTIME_DIR=str(tmp / 'runtime'), JUPYTERLAB_SETTINGS_DIR=str(tmp / 'settings'),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / 'workspaces'), IPYTHONDIR=str(tmp / 'ipython'),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH')) if p))
    env.setdefault('LENET_QUICK', '1')
    env.setdefault('OMP_NUM_THREADS', '1')
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / 'jupyterlab-08.log'
    log = open(log_path, 'w')
    server = subprocess.Popen(
        [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1', '--ServerApp.allow_root=True',
         f'--ServerApp.port={port}', '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}',
         f'--ServerApp.root_dir={serve}', '--LabApp.news_url=None', '--LabApp.check_for_updates_class='
         'jupyterlab.NeverCheckForUpdate'],
        cwd=serve, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + SERVER_START
        while True:
            if server.poll() is not None:
                pytest.fail(f'JupyterLab exited with {server.returncode}; log: {log_path}')
            try:
                with urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f'JupyterLab did not answer within {SERVER_START} s; log: {log_path}')
            time.sleep(0.5)
        yield {'base': base, 'token': token, 'log': log_path, 'user_data': tmp / 'chromium', 'serve': serve}
    finally:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(server.pid, sig)
            except ProcessLookupError:
                break
            try:
                server.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()


@pytest.fixture(scope='module')
def browser08(lab08):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(lab08['user_data']), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={'width': 1280, 'height': 900})
        try:
            yield context
        finally:
            context.close()


def wait_for_new_picture(page, before, what):
    """Wait until the maps image shows another picture than `before`; return the seconds it took."""
    start = time.monotonic()
    try:
        page.wait_for_function(
            f"""(before) => {{ const img = document.querySelector('{EXPLORER} .lenet-maps-image');
                               return img && img.src !== before; }}""", arg=before, timeout=UPDATE * 1000)
    except Exception:
        raise AssertionError(f'{what} did not change the maps picture within {UPDATE} s') from None
    return time.monotonic() - start


def test_the_epoch_slider_and_thumbnails_change_the_maps(lab08, browser08):
    with Student(browser08, lab08, NOTEBOOK, 'explorer-08') as s:
        s.open()
        if os.environ.get('LENET_SCREENSHOTS'):
            heading = s.page.locator(f'{PANEL} .jp-RenderedMarkdown h3', has_text='Solution: open it')
            heading.first.scroll_into_view_if_needed()
            shot(s.page, '0-collapsed-solution')
        s.clear_outputs()
        s.run_all()
        s.wait_done(RUN_DONE)
        assert not s.errors(), f'errors in the notebook: {s.errors()}'
        assert not s.text_reprs(), f'widgets shown as text: {s.text_reprs()}'
        page = s.page
        explorer = page.locator(EXPLORER).first
        explorer.wait_for(state='visible', timeout=60_000)
        explorer.scroll_into_view_if_needed()
        image = explorer.locator('.lenet-maps-image').first
        image.wait_for(state='visible', timeout=60_000)
        page.wait_for_function(f"() => document.querySelector('{EXPLORER} .lenet-maps-image').naturalWidth > 0")
        shot(page, '1-explorer')

        # drawn at the size it is shown: not stretched, not squeezed, and small enough to keep controls in view
        size = image.evaluate('img => [img.naturalWidth, img.naturalHeight, img.getBoundingClientRect().width, '
                              'img.getBoundingClientRect().height]')
        assert size[0] == round(size[2]) and size[1] == round(size[3]), f'the picture is scaled: {size}'
        assert size[1] <= 600, f'the picture is {size[1]} px tall'
        box = explorer.bounding_box()
        assert box['height'] <= 900 - 150, f'the explorer is {box["height"]} px tall: its controls scroll away'

        # the epoch slider: last epoch at first; one step left shows another epoch
        slider = explorer.locator('.lenet-epoch-slider').first
        handle = slider.locator('.noUi-handle').first
        assert handle.get_attribute('aria-valuenow') == handle.get_attribute('aria-valuemax')
        status = explorer.locator('.lenet-explorer-status').first
        last_status = status.inner_text()
        before = image.get_attribute('src')
        handle.focus()
        page.keyboard.press('ArrowLeft')
        seconds = wait_for_new_picture(page, before, 'one step left on the epoch slider')
        print(f'\nepoch step: new picture after {seconds:.2f} s')
        assert status.inner_text() != last_status
        shot(page, '2-one-epoch-back')

        # dragged all the way left: epoch 0, before training
        before = image.get_attribute('src')
        hb, track = handle.bounding_box(), slider.locator('.noUi-target').first.bounding_box()
        page.mouse.move(hb['x'] + hb['width'] / 2, hb['y'] + hb['height'] / 2)
        page.mouse.down()
        page.mouse.move(track['x'] - 20, hb['y'] + hb['height'] / 2, steps=8)
        page.mouse.up()
        seconds = wait_for_new_picture(page, before, 'dragging the epoch slider to 0')
        print(f'drag to epoch 0: new picture {seconds:.2f} s after release')
        page.wait_for_function(f"""() => document.querySelector('{EXPLORER} .lenet-explorer-status')
                                              .innerText.includes('Epoch 0 of')""", timeout=UPDATE * 1000)
        shot(page, '3-epoch-0')

        # a thumbnail: B under the bag
        before = image.get_attribute('src')
        strip = explorer.locator('.lenet-thumbnails').first
        bag = strip.locator('.widget-vbox', has_text='Bag').first
        bag.locator('button', has_text='B').first.click()
        seconds = wait_for_new_picture(page, before, 'pressing B under the bag')
        print(f'thumbnail: new picture after {seconds:.2f} s')
        page.wait_for_function(f"""() => document.querySelector('{EXPLORER} .lenet-explorer-status')
                                              .innerText.includes('input B: Bag 1')""", timeout=UPDATE * 1000)
        shot(page, '4-bag-as-b')
        assert not s.errors(), f'errors in the notebook: {s.errors()}'
