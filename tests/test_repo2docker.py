"""Binder reads our configuration as intended: the Dockerfile repo2docker would build, without Docker.

`jupyter-repo2docker --no-build --debug DIR` prints the Dockerfile that mybinder.org would build from a
clean copy of the repository (its tracked files). Checked: the Ubuntu base, the apt line with the
data package, binder/environment.yml as the environment and Python 3.12, postBuild run, binder/start as
the entrypoint; and the binder/ files themselves (no thread count hard-coded, nbgrader's instructor
tools off, news off).
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / 'binder'


def tracked_files():
    try:
        out = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True, check=True)
        return [f for f in out.stdout.decode().split('\0') if f]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: everything but build outputs
        skip = {'.venv', 'data', 'runs', 'course', '.git', '__pycache__'}
        return [str(p.relative_to(ROOT)) for p in ROOT.rglob('*') if p.is_file() and not skip & set(p.parts)]


@pytest.fixture(scope='module')
def dockerfile(tmp_path_factory):
    clean = tmp_path_factory.mktemp('repo') / 'lenet'
    for rel in tracked_files():
        if (ROOT / rel).is_file():
            (clean / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, clean / rel)
    exe = Path(sys.executable).parent / 'jupyter-repo2docker'
    command = [str(exe) if exe.exists() else 'jupyter-repo2docker', '--no-build', '--debug', str(clean)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=clean.parent)
    assert done.returncode == 0, f'repo2docker failed:\n{done.stdout}\n{done.stderr}'
    text = done.stdout + done.stderr
    assert 'FROM ' in text, f'no Dockerfile printed:\n{text}'
    return text


def test_ubuntu_base(dockerfile):
    base = re.search(r'^FROM (\S+)', dockerfile, re.M).group(1)
    assert re.fullmatch(r'(docker\.io/library/)?buildpack-deps:(2[2-9]\.04|jammy|noble)', base), base


def test_apt_installs_the_data(dockerfile):
    assert re.search(r'apt-get install[^\n]*--no-install-recommends[^\n]*\bdataset-fashion-mnist\b', dockerfile), \
        'binder/apt.txt must become an apt-get install line with dataset-fashion-mnist'


def test_the_binder_environment_is_used_with_python_312(dockerfile):
    assert re.search(r'env update -p \$\{NB_PYTHON_PREFIX\} --file "binder/environment\.yml"', dockerfile)
    assert 'Python version unspecified' not in dockerfile, 'repo2docker did not read Python\'s version'
    assert 'python=3.12' in dockerfile


def test_postbuild_runs_and_start_is_the_entrypoint(dockerfile):
    assert re.search(r'^RUN \./binder/postBuild$', dockerfile, re.M)
    assert re.search(r'^ENV R2D_ENTRYPOINT="\$\{REPO_DIR\}/binder/start"$', dockerfile, re.M)
    assert dockerfile.index('./binder/postBuild') > dockerfile.index('binder/environment.yml')


def test_start_leaves_the_thread_count_to_the_library():
    start = BINDER / 'start'
    assert os.access(start, os.X_OK), 'binder/start must be executable'
    text = start.read_text()
    commands = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith('#')]
    assert commands == ['exec "$@"'], f'binder/start should only hand over to JupyterLab, has {commands}'
    assert not re.search(r'(OMP|MKL)_NUM_THREADS=\S*\d', text)


def test_postbuild_installs_the_package_and_hides_instructor_tools():
    text = (BINDER / 'postBuild').read_text()
    commands = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith('#')]
    assert commands[0] == 'set -e' and os.access(BINDER / 'postBuild', os.X_OK)
    assert 'python -m pip install --no-deps -e .' in commands
    plugins = re.search(r'for plugin in ([^;]+);', text).group(1).split()
    assert {'formgrader', 'create-assignment', 'course-list'} <= set(plugins) and 'validate-assignment' not in plugins
    assert 'jupyter labextension disable --level=sys_prefix "@jupyter/nbgrader:$plugin"' in commands
    servers = re.search(r'for extension in ([^;]+);', text).group(1).split()
    assert {'formgrader', 'course_list'} <= set(servers)
    overrides = json.loads((BINDER / 'overrides.json').read_text())
    assert overrides['@jupyterlab/notebook-extension:tracker']['windowingMode'] in ('none', 'defer')
    notification = overrides['@jupyterlab/apputils-extension:notification']
    assert notification['checkForUpdates'] is False and notification['fetchNews'] == 'false'


def test_readme_binder_badge_opens_the_first_notebook():
    readme = (ROOT / 'README.md').read_text()
    m = re.search(r'\[!\[[^\]]*\]\([^)]*badge[^)]*\)\]\((https://mybinder\.org/v2/gh/[^)]+)\)', readme)
    assert m and m.group(1).endswith('?urlpath=lab/tree/notebooks/01_why_lenet.ipynb'), 'README needs the Binder badge'
