"""What a student sees: JupyterLab 4 in a real (headless) Chromium runs notebooks 02 and 04.

Starts JupyterLab from this Python environment on a free localhost port with a random token and
fresh config/data/settings/workspace folders (so nobody's own settings leak in), drives Debian's
Chromium (/usr/bin/chromium) through pip's playwright (no `playwright install`), and checks:
- 02: the shape calculator is rendered as real controls, not as a text repr like "VBox(children=...)",
  and moving the conv1 kernel-size control changes the shape table;
- 04: training shows a plot image that is updated in place (its src changes), with a progress bar;
- 04's training panel (a small notebook that makes it exactly as 04 does): Train starts a run whose
  live curve changes at least twice while another cell still runs (the kernel is free), Stop ends it
  as 'stopped', and Train works again;
- 06's model builder: an impossible design shows its explanation and disables Train.
It serves a temporary COPY of the notebooks with JupyterLab's autosave off, so nothing it does is
written into the working tree. Screenshots at 1280 px go to test-artifacts/ for a person to look at.
On failure it saves a screenshot and JupyterLab's log under test-artifacts/. JupyterLab is stopped
at the end, also when the test fails.

The notebooks' contract: the calculator carries the CSS classes
lenet-shape-calculator, lenet-conv1-kernel and lenet-shape-table; 04 draws its live plot through a
display handle. LENET_BROWSER_ROOT=DIR serves DIR instead of the repository (DIR/notebooks/02_... and
04_... must exist), for trying the test on stand-in notebooks.
"""
import contextlib
import json
import os
import shutil
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import browser_lookup
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
SERVE = Path(os.environ.get('LENET_BROWSER_ROOT', ROOT)).resolve()
NB_SHAPES = 'notebooks/02_shape_inspection.ipynb'
NB_TRAINING = 'notebooks/04_training.ipynb'
CHROMIUM = os.environ.get('LENET_CHROMIUM', '/usr/bin/chromium')
ARTIFACTS = ROOT / 'test-artifacts'
OVERRIDES = ROOT / 'binder' / 'overrides.json'  # the JupyterLab defaults Binder users get
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync',
                 '--disable-dev-shm-usage']
# Seconds; the machine may be a busy 2-core CI runner.
SERVER_START, KERNEL_READY, WIDGETS_SHOWN, TRAINING_DONE = 90, 120, 120, 300
PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)'  # the notebook in front


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


NO_AUTOSAVE = {'@jupyterlab/docmanager-extension:plugin': {'autosave': False}}  # the test never writes notebooks


def write_user_settings(folder):
    """Turn Binder's overrides.json ({plugin: settings}) into JupyterLab user-settings files; autosave off."""
    for plugin, settings in {**json.loads(OVERRIDES.read_text()), **NO_AUTOSAVE}.items():
        package, name = plugin.split(':')
        path = folder / package / f'{name}.jupyterlab-settings'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))


# Small notebooks that make the controls exactly as notebooks 04 and 06 do (those notebooks are edited by
# others; these stay put). The panel's data is big enough that a run lasts well past a few redraws.
PANEL_CELLS = [
    'import lenet_helpers as lh\n'
    'subset = dict(n_train=20000, n_test=1000)',
    'panel = lh.TrainingPanel(lambda bs: lh.load_data_fashion_mnist(bs, **subset), lh.lenet,\n'
    '                         lr=0.9, epochs=20, batch_size=128)\n'
    'panel',
    "print('the kernel answered')",
]
BUILDER_CELLS = [
    'import functools\nimport lenet_helpers as lh\n'
    'load_data = functools.lru_cache(lambda bs: lh.load_data_fashion_mnist(bs, seed=0, n_train=1024, n_test=500))',
    'builder = lh.ModelBuilder(load_data, epochs=1)\nbuilder',
]
NB_PANEL, NB_BUILDER = 'scratch/training_panel.ipynb', 'scratch/model_builder.ipynb'


def write_scratch_notebooks(folder):
    import nbformat
    folder.mkdir(parents=True)
    for name, cells in ((NB_PANEL, PANEL_CELLS), (NB_BUILDER, BUILDER_CELLS)):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
        nbformat.write(nb, folder.parent / name)


@contextlib.contextmanager
def jupyterlab(tmp, serve, log_name):
    """JupyterLab serving the folder `serve` on a free localhost port with a random token and fresh
    config/data/settings/workspace folders under tmp (Binder's settings, autosave off); yields base, token,
    log and user_data (Chromium's profile folder). Stopped at the end, also when a test fails."""
    for sub in ('config', 'data', 'runtime', 'settings', 'workspaces'):
        (tmp / sub).mkdir()
    write_user_settings(tmp / 'settings')
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(tmp / 'config'), JUPYTER_DATA_DIR=str(tmp / 'data'),
               JUPYTER_RUNTIME_DIR=str(tmp / 'runtime'), JUPYTERLAB_SETTINGS_DIR=str(tmp / 'settings'),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / 'workspaces'), IPYTHONDIR=str(tmp / 'ipython'),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH')) if p))
    env.setdefault('LENET_QUICK', '1')  # make test sets it; short training when run alone too
    # Chromium renders on one of CI's two cores while the kernel trains: a second torch thread would
    # only fight it (PyTorch's spinning threads slow down many times over on a busy core).
    env.setdefault('OMP_NUM_THREADS', '1')
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / log_name
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
        yield {'base': base, 'token': token, 'log': log_path, 'user_data': tmp / 'chromium'}
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


@contextlib.contextmanager
def chromium(lab, height):
    """Debian's Chromium, headless, 1280 px wide, driven by playwright; closed at the end."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(lab['user_data']), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={'width': 1280, 'height': height})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    missing = [nb for nb in (NB_SHAPES, NB_TRAINING) if not (SERVE / nb).is_file()]
    if missing:
        pytest.fail(f'The browser test needs {", ".join(missing)} in {SERVE}: the notebooks are missing.')
    global CHROMIUM
    CHROMIUM = browser_lookup.chromium_or_skip()  # a failure under CI=true, else a skip saying how to get one
    tmp = tmp_path_factory.mktemp('jupyter')
    serve = tmp / 'serve'  # a copy: Run All, clicks and saves never touch the real notebooks
    shutil.copytree(SERVE / 'notebooks', serve / 'notebooks', ignore=shutil.ignore_patterns('checkpoints'))
    write_scratch_notebooks(serve / 'scratch')
    with jupyterlab(tmp, serve, 'jupyterlab.log') as running:
        # the settings Binder users get (binder/overrides.json) are valid and in force here too
        for plugin, wanted in {**json.loads(OVERRIDES.read_text()), **NO_AUTOSAVE}.items():
            with urllib.request.urlopen(f'{running["base"]}/lab/api/settings/{plugin}?token={running["token"]}',
                                        timeout=10) as r:
                composite = json.load(r)['settings']
            assert {k: composite.get(k) for k in wanted} == wanted, f'{plugin}: {composite}'
        yield running


@pytest.fixture(scope='module')
def browser(lab):
    with chromium(lab, 1000) as context:
        yield context


class Student:
    """One notebook open in JupyterLab; screenshots itself when a check fails."""

    def __init__(self, context, lab, notebook, name):
        self.page = context.new_page()
        self.lab, self.notebook, self.name = lab, notebook, name
        self.console = []
        self.page.on('console', lambda m: self.console.append(f'{m.type}: {m.text}'))

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if error is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f'browser-{self.name}.png'
            try:
                self.page.screenshot(path=str(shot), full_page=True)
                print(f'\nscreenshot of the failure: {shot}')
            except Exception as e:  # the page may be gone
                print(f'\nno screenshot ({e})')
            (ARTIFACTS / f'browser-{self.name}-console.txt').write_text('\n'.join(self.console))
            print(f'browser console: {ARTIFACTS / f"browser-{self.name}-console.txt"}; '
                  f'JupyterLab log: {self.lab["log"]}')
        self.page.close()

    def open(self):
        page = self.page
        # ?reset: a clean workspace, only this notebook open
        page.goto(f'{self.lab["base"]}/lab/tree/{self.notebook}?reset&token={self.lab["token"]}')
        page.wait_for_selector('.jp-NotebookPanel .jp-Notebook .jp-Cell', timeout=KERNEL_READY * 1000)
        # kernel ready, or a dialog first (e.g. "Select Kernel" when the notebook's kernel is unknown)
        page.wait_for_function(
            f"""() => document.querySelector('.jp-Dialog') || (el => el && el.getAttribute('data-status') === 'idle')(
                         document.querySelector('{PANEL} .jp-Notebook-ExecutionIndicator'))""",
            timeout=KERNEL_READY * 1000, polling=500)
        dialog = page.locator('.jp-Dialog')
        if dialog.count():
            print(f'\naccepting a JupyterLab dialog: {dialog.first.inner_text()!r}')
            dialog.locator('.jp-mod-accept').first.click()
        self.wait_idle(KERNEL_READY)

    def wait_idle(self, timeout):
        """Wait until the notebook's kernel is connected and idle (the toolbar's indicator)."""
        self.page.wait_for_function(
            """() => { const el = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) '
                           + '.jp-Notebook-ExecutionIndicator');
                       return el && el.getAttribute('data-status') === 'idle'; }""",
            timeout=timeout * 1000, polling=500)

    def wait_done(self, timeout):
        """Wait until every code cell has run (a number in its prompt), or one failed; then idle."""
        self.page.wait_for_function(
            """() => {
                const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                const failed = panel.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
                // empty cells never get a number; collapsed cells show no editor (their source is hidden)
                const prompts = [...panel.querySelectorAll('.jp-CodeCell')]
                    .filter(c => (e => e && e.textContent.trim() !== '')(c.querySelector('.cm-content')))
                    .map(c => c.querySelector('.jp-InputArea-prompt'));
                return (failed && failed.textContent.includes('Traceback'))
                    || (prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)));
            }""", timeout=timeout * 1000, polling=500)
        self.wait_idle(timeout)

    def menu(self, menu, item):
        """Click menu > item in JupyterLab's menu bar."""
        page = self.page
        page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').first.click()
        page.locator('.lm-MenuBar-itemLabel', has_text=menu).first.click()
        entry = page.locator('.lm-Menu-item:visible', has_text=item).first
        entry.wait_for(state='visible', timeout=10_000)
        page.wait_for_timeout(300)
        entry.click()

    def clear_outputs(self):
        """Edit > Clear Outputs of All Cells: the saved outputs must not count as fresh ones."""
        self.menu('Edit', 'Clear Outputs of All Cells')
        self.page.wait_for_function(
            "() => !document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')",
            timeout=30_000)

    def run_all(self):
        """Run > Run All Cells, from the menu bar as a student would."""
        page = self.page
        for attempt in range(3):  # right after loading, the menu may not yet act on the notebook
            self.menu('Run', 'Run All Cells')
            try:  # the first code cell must have started ([*]) or finished ([1])
                page.wait_for_function(
                    """() => [...document.querySelectorAll('.jp-InputArea-prompt')]
                               .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))""", timeout=10_000)
                return
            except Exception:
                page.keyboard.press('Escape')
        raise AssertionError('Run > Run All Cells did not start the notebook')

    def errors(self):
        return self.page.locator(f'{PANEL} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
                                 ).filter(has_text='Traceback').all_inner_texts()

    def text_reprs(self):
        """Outputs that show a widget's Python repr instead of the widget."""
        texts = self.page.locator(f'{PANEL} .jp-OutputArea-output').all_inner_texts()
        return [t for t in texts if any(s in t for s in ('VBox(children', 'HBox(children', 'Box(children',
                                                          'IntSlider(value', 'Dropdown(', 'HTML(value',
                                                          'Error displaying widget'))]


def test_the_notebooks_are_there():
    missing = [nb for nb in (NB_SHAPES, NB_TRAINING) if not (SERVE / nb).is_file()]
    assert not missing, f'The browser test needs {", ".join(missing)} in {SERVE}: the notebooks are missing.'


def test_shape_calculator_controls_work(lab, browser):
    with Student(browser, lab, NB_SHAPES, 'shape-calculator') as s:
        s.open()
        s.clear_outputs()
        s.run_all()
        page = s.page
        calc = page.locator(f'{PANEL} .lenet-shape-calculator').first
        calc.wait_for(state='visible', timeout=WIDGETS_SHOWN * 1000)
        assert calc.locator('.lenet-conv1-kernel').count() == 1, 'no conv1 kernel-size control in the calculator'
        control = calc.locator('.lenet-conv1-kernel').first
        assert control.evaluate("el => el.matches('.widget-slider') || !!el.querySelector('.widget-slider, select')"), \
            'the conv1 kernel size is not rendered as a slider or dropdown'
        assert calc.locator('.jupyter-widgets').count() >= 2, 'the calculator is not rendered as widgets'
        table = calc.locator('.lenet-shape-table').first
        table.wait_for(state='visible', timeout=30_000)
        before = table.inner_text()
        assert table.locator('table').count() or before.strip(), 'the shape table is empty'

        if control.locator('select').count():  # a Dropdown: pick another kernel size
            select = control.locator('select').first
            options = select.locator('option').all_inner_texts()
            current = select.input_value()
            other = next(i for i, _ in enumerate(options) if select.locator('option').nth(i).get_attribute('value') != current)
            select.select_option(index=other)
        else:  # an IntSlider: keyboard on its handle, as a student without a mouse would
            handle = control.locator('.noUi-handle').first
            at_max = handle.get_attribute('aria-valuenow') == handle.get_attribute('aria-valuemax')
            handle.focus()
            page.keyboard.press('ArrowLeft' if at_max else 'ArrowRight')
        try:
            page.wait_for_function("""([el, before]) => el.innerText !== before""",
                                   arg=[table.element_handle(), before], timeout=30_000)
        except PlaywrightTimeout:
            raise AssertionError(f'moving the conv1 kernel-size control did not change the shape table '
                                 f'within 30 s; it still reads:\n{before}') from None
        after = table.inner_text()
        assert after != before
        assert table.locator('table').count() or after.strip(), 'the shape table went empty'
        s.wait_done(WIDGETS_SHOWN)
        assert not s.errors(), f'errors in the notebook: {s.errors()}'
        assert not s.text_reprs(), f'widgets shown as text: {s.text_reprs()}'


WATCH_IMAGES = """() => {
    // distinct image sources seen in each output slot (cell number : output number)
    window.__lenetImages = {};
    const scan = () => document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell').forEach((cell, c) =>
        cell.querySelectorAll('.jp-OutputArea-child').forEach((child, o) =>
            child.querySelectorAll('img').forEach(img => {
                if (!img.src) return;
                const key = c + ':' + o;
                (window.__lenetImages[key] = window.__lenetImages[key] || new Set())
                    .add(img.src.length + ':' + img.src.slice(-300));
            })));
    new MutationObserver(scan).observe(document.body,
        {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    scan();
}"""
UPDATED_IN_PLACE = '() => Object.values(window.__lenetImages).some(srcs => srcs.size >= 2)'
SEEN = '() => Object.fromEntries(Object.entries(window.__lenetImages).map(([k, v]) => [k, v.size]))'


def test_training_plot_appears_and_updates(lab, browser):
    with Student(browser, lab, NB_TRAINING, 'training') as s:
        s.open()
        s.clear_outputs()
        page = s.page
        page.evaluate(WATCH_IMAGES)  # remembers every plot image shown, however briefly
        start = time.monotonic()
        s.run_all()
        s.wait_done(TRAINING_DONE)
        assert not s.errors(), f'errors in the notebook: {s.errors()}'
        images = page.locator(f'{PANEL} .jp-OutputArea-output img')
        assert images.count(), 'no plot image in the outputs of 04'
        src = images.first.get_attribute('src') or ''
        assert src.startswith('data:image/'), f'the plot is not an inline image: {src[:80]!r}'
        # updated in place: the same output slot showed another picture (not a second plot below)
        assert page.evaluate(UPDATED_IN_PLACE), \
            f'the training plot never changed in place; sources seen per output: {page.evaluate(SEEN)}'
        print(f'\n04 ran in the browser in {time.monotonic() - start:.0f} s')
        assert not s.errors(), f'errors in the notebook: {s.errors()}'
        assert not s.text_reprs(), f'widgets shown as text: {s.text_reprs()}'
        assert page.locator(f'{PANEL} .jp-OutputArea-output .widget-hprogress .progress-bar').count(), \
            'no progress-bar widget in the training output'


CURVE = f'{PANEL} .lenet-training-panel .lenet-live-curve'
WATCH_CURVE = """() => {
    window.__lenetCurves = new Set();
    const seen = () => document.querySelectorAll('.lenet-live-curve').forEach(el => {
        const img = el.tagName === 'IMG' ? el : el.querySelector('img');
        if (img && img.src) window.__lenetCurves.add(img.src.length + ':' + img.src.slice(-200));
    });
    new MutationObserver(seen).observe(document.body,
        {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    seen();
}"""


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f'browser-{name}-1280.png'), full_page=False)


def test_training_panel_trains_live_stops_and_trains_again(lab, browser):
    with Student(browser, lab, NB_PANEL, 'training-panel') as s:
        s.open()
        s.run_all()
        s.wait_done(WIDGETS_SHOWN)
        page = s.page
        panel = page.locator(f'{PANEL} .lenet-training-panel').first
        panel.wait_for(state='visible', timeout=WIDGETS_SHOWN * 1000)
        train, stop = panel.locator('.lenet-train').first, panel.locator('.lenet-stop').first
        page.evaluate(WATCH_CURVE)
        train.click()
        page.wait_for_function('() => window.__lenetCurves.size >= 1', timeout=60_000)
        # The kernel is free while the run trains: the next cell runs and prints at once.
        page.locator(f'{PANEL} .jp-CodeCell').nth(2).click()
        page.keyboard.press('Shift+Enter')
        page.locator(f'{PANEL} .jp-OutputArea-output', has_text='the kernel answered').wait_for(timeout=30_000)
        assert 'stopped' not in panel.locator('.lenet-run-status').inner_text()
        try:  # the live curve is redrawn in place at least twice during the run
            page.wait_for_function('() => window.__lenetCurves.size >= 3', timeout=90_000)
        except PlaywrightTimeout:
            raise AssertionError(f'the live curve changed {page.evaluate("window.__lenetCurves.size") - 1} '
                                 f'time(s) in 90 s') from None
        assert train.is_disabled() and not stop.is_disabled(), 'Train must be disabled and Stop enabled during a run'
        assert 'examples/s' in panel.locator('.lenet-progress').inner_text()
        page.evaluate(f"document.querySelector('{PANEL} .lenet-training-panel').scrollIntoView()")
        screenshot(page, 'training-panel-running')
        stop.click()
        status = panel.locator('.lenet-run-status')
        page.wait_for_function("el => el.innerText.includes('stopped')", arg=status.element_handle(), timeout=30_000)
        page.wait_for_function("el => !el.disabled", arg=train.element_handle(), timeout=30_000)
        assert 'stopped' in panel.locator('.lenet-runs').inner_text(), 'the stopped run is not in the run table'
        screenshot(page, 'training-panel-stopped')
        train.click()  # Train works again
        page.wait_for_function("el => el.innerText.includes('run 2')", arg=status.element_handle(), timeout=30_000)
        page.wait_for_function("el => !el.disabled", arg=stop.element_handle(), timeout=30_000)
        stop.click()
        page.wait_for_function("el => el.innerText.includes('run 2') && el.innerText.includes('stopped')",
                               arg=status.element_handle(), timeout=60_000)
        assert not s.errors(), f'errors in the notebook: {s.errors()}'
        assert not s.text_reprs(), f'widgets shown as text: {s.text_reprs()}'


def test_model_builder_explains_an_impossible_design(lab, browser):
    with Student(browser, lab, NB_BUILDER, 'model-builder') as s:
        s.open()
        s.run_all()
        s.wait_done(WIDGETS_SHOWN)
        page = s.page
        builder = page.locator(f'{PANEL} .lenet-model-builder').first
        builder.wait_for(state='visible', timeout=WIDGETS_SHOWN * 1000)
        design = builder.locator('.lenet-design').first
        assert '61,706 parameters' in design.inner_text()
        page.evaluate(f"document.querySelector('{PANEL} .lenet-model-builder').scrollIntoView()")
        screenshot(page, 'model-builder')
        # every slider shows its readout, and nothing in the builder scrolls sideways at 1280 px
        hidden = page.evaluate("""() => [...document.querySelectorAll('.lenet-model-builder .widget-readout')]
            .filter(r => r.offsetWidth === 0 || r.getBoundingClientRect().right >
                         r.closest('.lenet-model-builder').getBoundingClientRect().right).length""")
        assert hidden == 0, f'{hidden} slider readout(s) hidden or cut off'
        sideways = page.evaluate("""() => [...document.querySelectorAll('.lenet-model-builder, .lenet-model-builder *')]
            .filter(el => el.scrollWidth > el.clientWidth + 2 && getComputedStyle(el).overflowX !== 'visible')
            .map(el => el.className).slice(0, 5)""")
        assert not sideways, f'parts of the builder scroll sideways: {sideways}'
        text = builder.locator('input[type="text"]').first  # channels per conv
        text.fill('6')
        text.press('Enter')
        slider = builder.locator('.widget-slider').first  # conv layers: 2 -> 3, with one channel count
        slider.locator('.noUi-handle').first.focus()
        page.keyboard.press('ArrowRight')
        page.wait_for_function("el => el.innerText.includes('cannot work')", arg=design.element_handle(),
                               timeout=30_000)
        assert 'channel counts' in design.inner_text()
        assert builder.locator('.lenet-train').first.is_disabled(), 'Train is enabled for an impossible design'
        screenshot(page, 'model-builder-impossible')
        assert not s.errors(), f'errors in the notebook: {s.errors()}'
        assert not s.text_reprs(), f'widgets shown as text: {s.text_reprs()}'
