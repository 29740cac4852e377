"""`make formgrade` reaches the course: a Jupyter server started in course/ (as the Makefile does)
serves nbgrader's formgrader, which finds the course's assignment through course/nbgrader_config.py
(CourseDirectory.root and an absolute gradebook path), and the config works from any folder."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lenet_helpers.assign import ASSIGNMENT, make_student_versions

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / 'tests' / 'fixtures' / '05_fixture_exercise.ipynb'
pytestmark = [pytest.mark.filterwarnings('ignore::Warning:sqlalchemy'), pytest.mark.filterwarnings('ignore:.*not in session')]


@pytest.fixture(scope='module')
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp('formgrade') / 'course'
    make_student_versions([FIXTURE], folder)
    return folder


def test_the_course_config_is_absolute_and_works_from_anywhere(course, tmp_path, monkeypatch):
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader
    monkeypatch.chdir(tmp_path)
    config = PyFileConfigLoader('nbgrader_config.py', path=str(course)).load_config()
    assert config.CourseDirectory.root == str(course)
    assert config.CourseDirectory.db_url == f'sqlite:///{course / "gradebook.db"}'
    api = NbGraderAPI(config=config)
    assert ASSIGNMENT in api.get_source_assignments()


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_the_formgrader_served_from_the_course_lists_the_assignment(course, tmp_path):
    port, token = free_port(), 'formgrade-test'
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / 'runtime'), PYTHONPATH=str(ROOT))
    command = [sys.executable, '-m', 'jupyter_server', '--no-browser', f'--port={port}', '--ServerApp.ip=127.0.0.1',
               f'--IdentityProvider.token={token}', '--ServerApp.allow_root=True']
    log = open(tmp_path / 'server.log', 'w')
    server = subprocess.Popen(command, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{port}'

    def get(path):
        request = urllib.request.Request(base + path, headers={'Authorization': f'token {token}'})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    try:
        for _ in range(120):
            try:
                get('/api/status')
                break
            except OSError:
                time.sleep(0.5)
        status, page = get('/formgrader')
        assert status == 200 and 'formgrader' in page.lower()
        status, body = get('/formgrader/api/assignments')
        names = [a['name'] for a in json.loads(body)]
        assert ASSIGNMENT in names, f'the formgrader does not see the course: {names}'
    except Exception:
        log.flush()
        print((tmp_path / 'server.log').read_text()[-3000:])
        raise
    finally:
        server.terminate()
        server.wait(timeout=30)
