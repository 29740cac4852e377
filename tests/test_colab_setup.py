"""The Colab/Kaggle set-up cell and the notebook header (tools/notebook_header.py), checked offline.

The cell's source is taken from the script's template and executed with stand-ins: a fake
`google.colab` module in sys.modules, KAGGLE_KERNEL_RUN_TYPE in the environment, and a recording
subprocess.run. Colab itself is not reachable here: what only Colab can show (the install taking
seconds, the widgets rendering) is listed in the README.
"""
import shutil
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import nbformat
import pytest

from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
header = load_script('tools/notebook_header.py')
NOTEBOOKS = ['01_why_lenet.ipynb', '02_shape_inspection.ipynb', '03_fashion_mnist.ipynb', '04_training.ipynb',
             '05_max_pooling.ipynb', '06_better_lenet.ipynb', '07_mnist.ipynb', '08_activations.ipynb']


def slug():
    tool = tomllib.loads((ROOT / 'pyproject.toml').read_text())['tool']['lenet']
    return tool['repository'], tool['branch']


@pytest.fixture
def calls(monkeypatch):
    """Record subprocess.run instead of running pip; hide any real Colab or Kaggle."""
    made = []
    monkeypatch.setattr(subprocess, 'run', lambda *a, **kw: made.append((a, kw)))
    monkeypatch.delenv('KAGGLE_KERNEL_RUN_TYPE', raising=False)
    monkeypatch.delitem(sys.modules, 'google.colab', raising=False)
    monkeypatch.delitem(sys.modules, 'google', raising=False)
    return made


def fake_colab(monkeypatch):
    enabled = []
    colab = types.ModuleType('google.colab')
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: enabled.append(True))
    google = types.ModuleType('google')
    google.colab = colab
    monkeypatch.setitem(sys.modules, 'google', google)
    monkeypatch.setitem(sys.modules, 'google.colab', colab)
    return enabled


def run_cell():
    exec(compile(header.setup_source(), '<setup cell>', 'exec'), {})


def expected_install():
    repo, branch = slug()
    return [sys.executable, '-m', 'pip', 'install', '--quiet', f'lenet-helpers @ git+https://github.com/{repo}@{branch}']


def test_the_cell_does_nothing_outside_colab_and_kaggle(calls):
    run_cell()
    assert calls == [], 'outside Colab and Kaggle the set-up cell must not install anything'


def test_on_colab_it_installs_this_repository_and_enables_the_widget_manager(calls, monkeypatch):
    enabled = fake_colab(monkeypatch)
    run_cell()
    assert len(calls) == 1
    args, kwargs = calls[0]
    assert args[0] == expected_install() and kwargs.get('check') is True
    assert enabled == [True], 'ipywidgets 8 controls need Colab\'s custom widget manager'


def test_on_kaggle_it_installs_without_the_colab_widget_manager(calls, monkeypatch):
    monkeypatch.setenv('KAGGLE_KERNEL_RUN_TYPE', 'Interactive')
    run_cell()
    assert [c[0][0] for c in calls] == [expected_install()]


def test_the_install_keeps_colabs_torch():
    """pip keeps an installed torch only when the package's ranges allow it: no pins, floors only."""
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    torch = next(d for d in project['dependencies'] if d.startswith('torch'))
    assert torch.replace(' ', '').startswith('torch>=') and '==' not in torch and '<' not in torch
    assert 'torch' not in header.setup_source().split('pip')[-1].split(']')[0].replace('torch that', '')


def graded_and_plain(tmp_path):
    graded = tmp_path / '05_max_pooling.ipynb'
    shutil.copy(ROOT / 'tests' / 'fixtures' / '05_fixture_exercise.ipynb', graded)
    plain = tmp_path / '01_why_lenet.ipynb'
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell('# 01 · A title\n\nWhy this notebook.'),
                nbformat.v4.new_markdown_cell('Next, the imports.'), nbformat.v4.new_code_cell('import torch')]
    nbformat.write(nb, plain)
    return [graded, plain]


def test_the_header_script_is_idempotent(tmp_path):
    paths = graded_and_plain(tmp_path)
    header.main(paths)
    once = [p.read_bytes() for p in paths]
    header.main(paths)
    assert [p.read_bytes() for p in paths] == once, 'a second run must change nothing'
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        assert [c.metadata.get('lenet_header') for c in nb.cells].count('setup') == 1
        first_code = next(c for c in nb.cells if c.cell_type == 'code')
        assert first_code.metadata.get('lenet_header') == 'setup', 'the set-up cell must be the first code cell'
        intro = next(c for c in nb.cells if c.cell_type == 'markdown').source
        assert intro.count(header.START) == 1 and header.colab_url(path.name) in intro
        assert header.D2L in intro and 'Zalando' in intro and 'MIT' in intro


def test_the_header_keeps_exercise_notebooks_valid_for_nbgrader(tmp_path):
    graded = graded_and_plain(tmp_path)[0]
    header.main([graded])
    nb = nbformat.read(graded, as_version=4)
    ids = [c.metadata['nbgrader']['grade_id'] for c in nb.cells]
    assert len(ids) == len(set(ids)) == len(nb.cells), 'every cell keeps unique nbgrader metadata'
    setup = next(c for c in nb.cells if c.metadata.get('lenet_header') == 'setup')
    assert setup.metadata['nbgrader']['locked'] and not setup.metadata['nbgrader']['solution']
    assert 'nbval-ignore-output' in setup.metadata['tags'] and setup.metadata['nbval_reason']


def test_an_edited_header_is_refreshed_not_duplicated(tmp_path):
    plain = graded_and_plain(tmp_path)[1]
    header.main([plain])
    nb = nbformat.read(plain, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace('Open In Colab', 'Old badge')
    nbformat.write(nb, plain)
    header.main([plain])
    text = nbformat.read(plain, as_version=4).cells[0].source
    assert 'Old badge' not in text and text.count('Open In Colab') == 1 and text.startswith('# 01 · A title')


def test_readme_has_a_colab_badge_for_every_notebook_from_the_one_slug():
    readme = (ROOT / 'README.md').read_text()
    for name in NOTEBOOKS:
        assert header.colab_badge(name) in readme, f'README lacks the Colab badge of {name}'
    repo, _ = slug()
    assert f'mybinder.org/v2/gh/{repo}/' in readme, 'the Binder badge must use the same repository slug'


def test_citation_uses_the_one_slug():
    repo, _ = slug()
    assert f'repository-code: "https://github.com/{repo}"' in (ROOT / 'CITATION.cff').read_text()


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_the_header_fits_every_real_notebook(tmp_path, name):
    """On a copy: only the first markdown cell and the new set-up cell change; twice changes nothing."""
    copy = tmp_path / name
    shutil.copy(ROOT / 'notebooks' / name, copy)
    original = nbformat.read(copy, as_version=4)
    header.main([copy])
    once = copy.read_bytes()
    header.main([copy])
    assert copy.read_bytes() == once
    nb = nbformat.read(copy, as_version=4)
    nbformat.validate(nb)
    rest = [c.source for c in nb.cells if c.metadata.get('lenet_header') != 'setup']
    lesson = [c for c in original.cells if c.metadata.get('lenet_header') != 'setup']  # it may have one already
    first_md = next(i for i, c in enumerate(lesson) if c.cell_type == 'markdown')
    assert rest[:first_md] + rest[first_md + 1:] == [c.source for i, c in enumerate(lesson) if i != first_md]
    if any('nbgrader' in c.metadata for c in original.cells):
        ids = [c.metadata['nbgrader']['grade_id'] for c in nb.cells]
        assert len(ids) == len(set(ids)) == len(nb.cells)
