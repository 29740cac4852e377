"""The three descriptions of the environment (pyproject.toml, environment.yml, binder/) must agree.

A package added to one file and forgotten in another, or a major.minor pin moved in one place only,
fails here, and so does an installed version that no longer matches its pin.
"""
import json
import os
import re
from importlib import metadata
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / 'binder'
# pip name -> conda-forge name, where they differ
CONDA_NAME = {'torch': 'pytorch-cpu'}
# conda entries that have no pip counterpart in pyproject.toml
CONDA_ONLY = {'python', 'pip'}
LOCAL_PACKAGE = 'lenet-helpers'


def pip_pins():
    """{conda name: 'X.Y'} from pyproject.toml's dependencies and every optional extra."""
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    specs = list(project['dependencies'])
    for extra in project['optional-dependencies'].values():
        specs += extra
    pins = {}
    for spec in specs:
        m = (re.fullmatch(r'([A-Za-z0-9_.-]+)==(\d+)\.(\d+)\.\*', spec)
             or re.fullmatch(r'([A-Za-z0-9_.-]+)>=(\d+)\.(\d+)(?:\.0)?,<\d+(?:\.\d+)?', spec))
        assert m, f'pyproject.toml: {spec!r} is not pinned to major.minor (write "name==X.Y.*")'
        name = m.group(1).lower().replace('_', '-')
        assert name not in pins, f'pyproject.toml lists {name} twice'
        pins[CONDA_NAME.get(name, name)] = f'{m.group(2)}.{m.group(3)}'
    return pins


def conda_env(path):
    """(channels, {name: version}, pip entries) of a conda environment file."""
    env = yaml.safe_load(path.read_text())
    pins, pip = {}, []
    for dep in env['dependencies']:
        if isinstance(dep, dict):
            assert set(dep) == {'pip'}, f'{path}: unexpected entry {dep}'
            pip += dep['pip']
            continue
        m = re.fullmatch(r'([a-z0-9_.-]+)(?:=(\d+\.\d+))?(?:=(\S+))?', dep)
        assert m, f'{path}: cannot read the entry {dep!r}'
        name, version, build = m.groups()
        if name == 'pytorch':
            assert build and build.startswith('cpu'), f'{path}: pytorch must be a CPU build (pytorch=X.Y=cpu*)'
            name = 'pytorch-cpu'
        assert name not in pins, f'{path} lists {name} twice'
        pins[name] = version
    return env.get('channels', []), pins, pip


ROOT_ENV = ROOT / 'environment.yml'
BINDER_ENV = BINDER / 'environment.yml'


@pytest.mark.parametrize('path', [ROOT_ENV, BINDER_ENV], ids=['environment.yml', 'binder/environment.yml'])
def test_conda_file_is_conda_forge_only_and_pinned(path):
    channels, pins, _ = conda_env(path)
    assert channels and set(channels) <= {'conda-forge', 'nodefaults'}, \
        f'{path}: only conda-forge may be used, found channels {channels}'
    assert 'conda-forge' in channels
    for name, version in pins.items():
        if name != 'pip':
            assert version, f'{path}: {name} needs a major.minor pin (name=X.Y)'
    assert 'pytorch-cpu' in pins, f'{path}: the CPU PyTorch (pytorch-cpu) is missing'
    assert not {'pytorch', 'pytorch-gpu', 'cudatoolkit', 'cuda-version'} & set(pins)


@pytest.mark.parametrize('path', [ROOT_ENV, BINDER_ENV], ids=['environment.yml', 'binder/environment.yml'])
def test_every_conda_entry_says_who_needs_it(path):
    in_deps = False
    for line in path.read_text().splitlines():
        if line.startswith('dependencies:'):
            in_deps = True
            continue
        entry = re.match(r'\s+- (\S+)', line)
        if in_deps and entry and entry.group(1) != 'pip:':
            assert re.search(r'#\s*\S', line), f'{path}: give {entry.group(1)!r} a comment saying what needs it'


def test_conda_files_match_pyproject():
    expected = pip_pins()
    for path in (ROOT_ENV, BINDER_ENV):
        _, pins, _ = conda_env(path)
        pins = {k: v for k, v in pins.items() if k not in CONDA_ONLY}
        missing = sorted(set(expected) - set(pins))
        extra = sorted(set(pins) - set(expected))
        assert not missing, f'{path.relative_to(ROOT)} lacks {missing} from pyproject.toml'
        assert not extra, f'{path.relative_to(ROOT)} has {extra}, which pyproject.toml does not list'
        differ = {k: (pins[k], expected[k]) for k in pins if pins[k] != expected[k]}
        assert not differ, f'{path.relative_to(ROOT)} and pyproject.toml pin differently (conda, pip): {differ}'


def test_binder_environment_is_the_root_one():
    root_channels, root_pins, root_pip = conda_env(ROOT_ENV)
    binder_channels, binder_pins, binder_pip = conda_env(BINDER_ENV)
    assert binder_channels == root_channels
    assert binder_pins == root_pins, 'binder/environment.yml must carry the same packages and pins as environment.yml'
    assert yaml.safe_load(ROOT_ENV.read_text())['name'] == yaml.safe_load(BINDER_ENV.read_text())['name']
    # the package itself: from pip in the root file; in Binder from postBuild (the repository is
    # not yet in the image when repo2docker builds the environment)
    assert root_pip == ['-e .'], f'environment.yml must install the repository with pip ("-e ."), has {root_pip}'
    assert not binder_pip, 'binder/environment.yml cannot install local paths with pip; postBuild does that'


def test_postbuild_installs_the_package_and_settings():
    text = (BINDER / 'postBuild').read_text()
    commands = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith('#')]
    assert commands and commands[0] == 'set -e', 'binder/postBuild must start with "set -e"'
    assert os.access(BINDER / 'postBuild', os.X_OK), 'binder/postBuild must be executable'
    assert any(re.search(r'pip install .*(-e )?\.$', c) for c in commands), 'postBuild must pip-install the repository'
    assert 'overrides.json' in text
    overrides = json.loads((BINDER / 'overrides.json').read_text())
    mode = overrides['@jupyterlab/notebook-extension:tracker']['windowingMode']
    assert mode in ('none', 'defer'), 'plots scrolled off screen must stay in the page'


def test_binder_start_caps_threads():
    start = BINDER / 'start'
    assert os.access(start, os.X_OK), 'binder/start must be executable'
    text = start.read_text()
    assert 'OMP_NUM_THREADS' in text and text.rstrip().endswith('exec "$@"')


def test_binder_image_carries_the_data():
    packages = [line.strip() for line in (BINDER / 'apt.txt').read_text().splitlines()
                if line.strip() and not line.startswith('#')]
    assert 'dataset-fashion-mnist' in packages


def test_readme_binder_badge_opens_the_first_notebook():
    readme = (ROOT / 'README.md').read_text()
    m = re.search(r'\[!\[[^\]]*\]\([^)]*badge[^)]*\)\]\((https://mybinder\.org/v2/gh/[^)]+)\)', readme)
    assert m, 'README.md needs a Binder badge linking to mybinder.org'
    assert m.group(1).endswith('?urlpath=lab/tree/notebooks/01_why_lenet.ipynb'), m.group(1)
    assert 'conda env create -f environment.yml' in readme


def test_makefile_torch_matches_the_pins():
    make_torch = re.search(r'^TORCH\s*\?=\s*(.+)$', (ROOT / 'Makefile').read_text(), re.M).group(1).split()
    pins = pip_pins()
    for spec in make_torch:
        name, version = spec.split('==')
        major_minor = '.'.join(version.split('.')[:2])
        assert pins[CONDA_NAME.get(name, name)] == major_minor, f'Makefile installs {spec}, pyproject pins another minor'


def test_installed_versions_match_the_pins():
    """The environment the tests run in is the one the files describe."""
    wrong = {}
    for name, pin in pip_pins().items():
        pip_name = {v: k for k, v in CONDA_NAME.items()}.get(name, name)
        try:
            installed = metadata.version(pip_name)
        except metadata.PackageNotFoundError:
            wrong[pip_name] = (pin, 'not installed')
            continue
        if '.'.join(installed.split('+')[0].split('.')[:2]) != pin:
            wrong[pip_name] = (pin, installed)
    assert not wrong, f'installed versions differ from the major.minor pins (pin, installed): {wrong}'
