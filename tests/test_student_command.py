"""The student command never destroys an instructor's work under course/ (issue 12, class 9).

Arguments are checked before anything is touched; a file is overwritten or deleted only when the
command wrote it last time and nobody changed it since; edits are refused (and listed) unless --force;
files the command did not write are never deleted. One course is built once with two fixture
exercises; every test works on its own copy of it.
"""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lenet_helpers.assign import MANIFEST, StudentVersionError, make_student_versions

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / 'tests' / 'fixtures' / '05_fixture_exercise.ipynb'
pytestmark = [pytest.mark.filterwarnings('ignore::Warning:sqlalchemy'), pytest.mark.filterwarnings('ignore:.*not in session')]


def snapshot(folder):
    """{relative path: sha256} of every file under folder."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob('*')) if p.is_file()}


def student(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
    return subprocess.run([sys.executable, '-m', 'lenet_helpers', 'student', *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """A course made from the fixture and a renamed copy of it; returns (course, the two notebooks)."""
    work = tmp_path_factory.mktemp('student')
    second = work / '06_fixture_copy.ipynb'
    shutil.copy(FIXTURE, second)
    course = work / 'course'
    make_student_versions([FIXTURE, second], course)
    return course, [FIXTURE, second]


@pytest.fixture
def course(built, tmp_path):
    folder = tmp_path / 'course'
    shutil.copytree(built[0], folder)
    return folder


def test_a_rerun_without_changes_changes_nothing(course, built):
    before = snapshot(course)
    make_student_versions(built[1], course)
    after = snapshot(course)
    before.pop('gradebook.db'), after.pop('gradebook.db')  # nbgrader's records: updated on every run, grades kept
    assert after == before, 'rerunning on the same notebooks must rewrite nothing differently'
    assert f'release/lenet/{FIXTURE.name}' in after and 'lenet-student.zip' in after


@pytest.mark.parametrize('edited', ['release/lenet/05_fixture_exercise.ipynb', 'source/lenet/06_fixture_copy.ipynb',
                                    'lenet-student.zip'])
def test_an_edited_file_is_refused_and_listed_then_overwritten_with_force(course, built, edited):
    (course / edited).write_bytes(b'{"my": "edits"}')
    before = snapshot(course)
    done = student('--course', course, *built[1])
    assert done.returncode == 2, done.stdout + done.stderr
    assert edited in done.stderr and '--force' in done.stderr and 'Nothing was changed' in done.stderr
    assert snapshot(course) == before, 'a refused run must not touch anything'
    done = student('--course', course, '--force', *built[1])
    assert done.returncode == 0, done.stderr
    assert (course / edited).read_bytes() != b'{"my": "edits"}'


def test_extra_files_survive_reruns_and_force(course, built):
    extras = [course / 'release' / 'lenet' / 'answers-key.md', course / 'source' / 'lenet' / 'my_notes.ipynb',
              course / 'source' / 'lenet' / 'data' / 'extra.csv']
    for i, path in enumerate(extras):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'instructor file {i}')
    make_student_versions(built[1], course)
    make_student_versions(built[1], course, force=True)
    assert [p.read_text() for p in extras] == [f'instructor file {i}' for i in range(len(extras))]


def test_a_foreign_file_in_the_way_is_refused(course, built):
    """A notebook of the instructor's own, with the name of one the command is about to write."""
    (course / MANIFEST).unlink()  # as in a course made before manifests existed: nothing is provably ours
    release = course / 'release' / 'lenet' / FIXTURE.name
    release.write_text('{"cells": []}')
    with pytest.raises(StudentVersionError, match='not written by it'):
        make_student_versions(built[1], course)
    assert release.read_text() == '{"cells": []}'


@pytest.mark.parametrize('names, said', [(['05_max_poolin'], 'the exercise notebooks are: 05_max_pooling.ipynb'),
                                         ([FIXTURE, 'nope.ipynb'], 'nope.ipynb: no such notebook'),
                                         ([ROOT / 'README.md'], 'not a notebook')])
def test_a_mistyped_notebook_on_an_existing_course_touches_nothing(course, names, said):
    before = snapshot(course)
    done = student('--course', course, *names)
    assert done.returncode == 2, done.stdout + done.stderr
    assert 'Nothing was changed' in done.stderr and said in done.stderr, done.stderr
    assert snapshot(course) == before


def test_outputs_no_longer_produced_are_deleted_only_if_unchanged(course, built):
    ours = course / 'release' / 'lenet' / '06_fixture_copy.ipynb'
    edited = course / 'source' / 'lenet' / '06_fixture_copy.ipynb'
    edited.write_text('{"edited": true}')
    make_student_versions([FIXTURE], course)
    assert not ours.exists(), 'an output the command wrote and nobody changed goes when its notebook goes'
    assert edited.read_text() == '{"edited": true}', 'an edited file is never deleted'
    assert (course / 'release' / 'lenet' / FIXTURE.name).exists()


@pytest.mark.parametrize('case', ['course is a file', 'damaged manifest'])
def test_bad_course_folders_are_refused_before_any_work(tmp_path, built, case):
    if case == 'course is a file':
        target = tmp_path / 'course'
        target.write_text('not a folder')
    else:
        target = tmp_path / 'copy'
        shutil.copytree(built[0], target)
        (target / MANIFEST).write_text('{broken')
    before = snapshot(tmp_path)
    with pytest.raises(StudentVersionError, match='Nothing was changed|nothing was changed'):
        make_student_versions([FIXTURE], target)
    assert snapshot(tmp_path) == before
