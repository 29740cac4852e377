"""Student versions of the exercise notebooks, made with nbgrader.

The notebooks in ``notebooks/`` are the instructor versions and stay the source of truth: they hold
the solutions between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` and keep passing nbval.
``make_student_versions`` builds an nbgrader course directory from copies of them::

    course/
      nbgrader_config.py      course id, gradebook location (written once, then yours to edit)
      gradebook.db            nbgrader's gradebook (sqlite)
      source/lenet/*.ipynb    copies of the instructor notebooks (refreshed on every run)
      release/lenet/*.ipynb   the student versions: solutions replaced by a stub that raises
                              NotImplementedError, outputs cleared, lesson and test cells locked

and hands out ``release/lenet/``. From the command line: ``make student`` or
``python -m lenet_helpers student [--course DIR] [NOTEBOOK ...]``.
"""
import contextlib
import os
import shutil
import sys
from pathlib import Path

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / 'notebooks'
EXERCISE_GLOB = '0[5-8]_*.ipynb'
ASSIGNMENT = 'lenet'
COURSE_ID = 'lenet-interactive'

CONFIG_TEMPLATE = '''\
# nbgrader settings for the LeNet exercises (written by `python -m lenet_helpers student`; edit freely).
c = get_config()  # noqa: F821 (provided by nbgrader)
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_url = 'sqlite:///gradebook.db'
# Every exercise is Python; the stub students see in place of a solution:
c.ClearSolutions.code_stub = {{'python': '# YOUR CODE HERE\\nraise NotImplementedError()'}}
c.ClearSolutions.text_stub = 'YOUR ANSWER HERE'
# Autograding runs every cell, training included: allow 10 minutes a cell (nbgrader's default is 30 s).
c.ExecutePreprocessor.timeout = 600
'''


def nbgrader_cells(nb):
    """The cells of a notebook (an nbformat node) that carry nbgrader metadata."""
    return [cell for cell in nb.cells if 'nbgrader' in cell.get('metadata', {})]


def exercise_notebooks(folder=NOTEBOOKS_DIR):
    """Sorted paths of the exercise notebooks (05-08) in ``folder`` that carry nbgrader metadata."""
    import nbformat
    found = []
    for path in sorted(Path(folder).glob(EXERCISE_GLOB)):
        if nbgrader_cells(nbformat.read(path, as_version=4)):
            found.append(path)
    return found


@contextlib.contextmanager
def course_api(course_dir):
    """nbgrader's Python API for the course in ``course_dir``, set up like its nbgrader_config.py."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    course = Path(course_dir).resolve()
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.db_url = f'sqlite:///{course / "gradebook.db"}'
    config.ClearSolutions.code_stub = {'python': '# YOUR CODE HERE\nraise NotImplementedError()'}
    config.ClearSolutions.text_stub = 'YOUR ANSWER HERE'
    config.ExecutePreprocessor.timeout = 600
    # nbgrader runs its `alembic` script to set up the gradebook: find it beside this Python even
    # when the environment is not activated (e.g. `.venv/bin/python -m lenet_helpers student`).
    path = os.environ.get('PATH', '')
    os.environ['PATH'] = os.pathsep.join([str(Path(sys.executable).parent), path])
    try:
        yield NbGraderAPI(config=config)
    finally:
        os.environ['PATH'] = path


def make_student_versions(notebooks=None, course_dir='course', assignment=ASSIGNMENT):
    """Build the nbgrader course in ``course_dir`` and return the folder of student notebooks.

    ``notebooks``: instructor notebooks to include (default: every exercise notebook in notebooks/
    with nbgrader metadata). Raises RuntimeError with nbgrader's own message when it refuses one
    (for example a solution region in a cell not marked as a solution cell).
    """
    notebooks = [Path(p) for p in (notebooks if notebooks is not None else exercise_notebooks())]
    if not notebooks:
        raise RuntimeError(f'No exercise notebooks with nbgrader metadata found in {NOTEBOOKS_DIR}.')
    course = Path(course_dir).resolve()
    source = course / 'source' / assignment
    if source.exists():
        shutil.rmtree(source)  # the instructor versions in notebooks/ are the source of truth
    source.mkdir(parents=True)
    for nb in notebooks:
        shutil.copy2(nb, source / nb.name)
    config_file = course / 'nbgrader_config.py'
    if not config_file.exists():
        config_file.write_text(CONFIG_TEMPLATE.format(course_id=COURSE_ID))

    with course_api(course) as api:
        result = api.generate_assignment(assignment, force=True, create=True)
    if not result.get('success'):
        raise RuntimeError(f'nbgrader could not generate the student versions:\n'
                           f'{result.get("error") or ""}\n{result.get("log") or ""}')
    release = course / 'release' / assignment
    made = sorted(p.name for p in release.glob('*.ipynb'))
    expected = sorted(nb.name for nb in notebooks)
    if made != expected:
        raise RuntimeError(f'nbgrader made {made}, expected {expected}; its log:\n{result.get("log")}')
    return release
