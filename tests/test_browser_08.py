"""What a student sees in notebook 08: JupyterLab 4 in a real (headless) Chromium at 1280x900.

Serves a temporary copy of notebooks/08_activations.ipynb (with autosave off, so nothing is written into
the working tree), runs it in quick mode and checks the feature-map explorer:
- it is rendered as controls, not as a text repr, and fits the window: controls above a picture that is
  shown at the size it was drawn (not stretched) and no taller than 600 px;
- moving the epoch slider changes the maps picture (and says which epoch it shows);
- pressing B under a thumbnail shows that image as input B.
Reuses the JupyterLab driver of tests/test_browser.py. LENET_SCREENSHOTS=DIR keeps screenshots of each step.
"""
import os
import shutil
import time
from pathlib import Path

import pytest

import browser_lookup
import test_browser
from test_browser import PANEL, ROOT, Student, chromium, jupyterlab

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
    # a failure under CI=true, else a skip saying how to get one; chromium() launches this one
    test_browser.CHROMIUM = browser_lookup.chromium_or_skip()
    tmp = tmp_path_factory.mktemp('jupyter08')
    serve = tmp / 'serve'
    (serve / 'notebooks').mkdir(parents=True)
    shutil.copy(ROOT / NOTEBOOK, serve / NOTEBOOK)  # a copy: the run's outputs never reach the repository
    with jupyterlab(tmp, serve, 'jupyterlab-08.log') as running:
        yield {**running, 'serve': serve}


@pytest.fixture(scope='module')
def browser08(lab08):
    with chromium(lab08, 900) as context:
        yield context


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
