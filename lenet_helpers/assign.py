"""Student versions of the exercise notebooks, made with nbgrader, without ever losing an instructor's work.

The notebooks in ``notebooks/`` are the instructor versions and stay the source of truth: they hold
the solutions between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (and hidden tests between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``). ``make_student_versions`` builds an nbgrader
course directory from copies of them::

    course/
      nbgrader_config.py      course id, root and gradebook (absolute); written once, then yours to edit
      gradebook.db            nbgrader's gradebook (sqlite)
      source/lenet/*.ipynb    copies of the instructor notebooks
      release/lenet/*.ipynb   the student versions: solutions and hidden tests removed, outputs cleared
      lenet-student.zip       release/lenet/ as one file to hand out
      .lenet-student.json     what this command wrote last time (paths and SHA-256 of contents)

Safety rules: every argument is checked before anything under the course folder is touched; nbgrader
runs in a scratch copy; a file is overwritten or deleted only if this command wrote it last time and
nobody changed it since (the manifest's hash still matches). Anything else in the way is listed and
refused unless ``force=True`` (``--force``), and even then files the command did not write are never
deleted. From the command line: ``make student`` or
``python -m lenet_helpers student [--course DIR] [--force] [NOTEBOOK ...]``.
"""
import contextlib
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from .files import atomic_write_json, check_writable_dir

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / 'notebooks'
EXERCISE_GLOB = '0[5-8]_*.ipynb'
ASSIGNMENT = 'lenet'
COURSE_ID = 'lenet-interactive'
MANIFEST = '.lenet-student.json'
CODE_STUB = '# YOUR CODE HERE\nraise NotImplementedError()'
TEXT_STUB = 'YOUR ANSWER HERE'

CONFIG_TEMPLATE = '''\
# nbgrader settings for the LeNet exercises (written once by `python -m lenet_helpers student`; edit freely).
import os
c = get_config()  # noqa: F821 (provided by nbgrader)
course = os.path.dirname(os.path.abspath(__file__))  # this folder, wherever Jupyter was started
c.CourseDirectory.root = course
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_url = 'sqlite:///' + os.path.join(course, 'gradebook.db')  # absolute
# Every exercise is Python; the stubs students see in place of a solution:
c.ClearSolutions.code_stub = {{'python': {code_stub!r}}}
c.ClearSolutions.text_stub = {text_stub!r}
# Autograding runs every cell, training included: allow 10 minutes a cell (nbgrader's default is 30 s).
c.ExecutePreprocessor.timeout = 600
'''


class StudentVersionError(RuntimeError):
    """The student versions were not made; the message says why and what to do. Nothing was changed."""


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


def resolve_notebooks(names=None):
    """Check and return the instructor notebooks to use; raise StudentVersionError before any work.

    Each name is a path, or a notebook in notebooks/ given with or without '.ipynb'.
    """
    import nbformat
    if names is None:
        found = exercise_notebooks()
        if not found:
            raise StudentVersionError(f'No exercise notebooks with nbgrader metadata found in {NOTEBOOKS_DIR}.')
        return found
    available = ', '.join(p.name for p in sorted(NOTEBOOKS_DIR.glob(EXERCISE_GLOB))) or 'none'
    paths, problems = [], []
    for name in names:
        options = [Path(name), NOTEBOOKS_DIR / name, NOTEBOOKS_DIR / f'{name}.ipynb']
        path = next((p for p in options if p.is_file()), None)
        if path is None:
            problems.append(f'{name}: no such notebook (the exercise notebooks are: {available})')
            continue
        if path.suffix != '.ipynb':
            problems.append(f'{path}: not a notebook (.ipynb)')
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as e:  # unreadable, not JSON, not a notebook
            problems.append(f'{path}: cannot be read as a notebook ({type(e).__name__}: {e})')
            continue
        if not nbgrader_cells(nb):
            problems.append(f'{path}: has no nbgrader metadata, so it is not an exercise notebook')
            continue
        paths.append(path.resolve())
    duplicates = sorted({p.name for p in paths if [q.name for q in paths].count(p.name) > 1})
    if duplicates:
        problems.append(f'two notebooks have the same name: {", ".join(duplicates)}')
    if problems:
        raise StudentVersionError('Nothing was changed. Fix the notebook list:\n  ' + '\n  '.join(problems))
    return paths


def _config(course_root, db_path):
    from traitlets.config import Config
    config = Config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.db_url = f'sqlite:///{db_path}'
    config.ClearSolutions.code_stub = {'python': CODE_STUB}
    config.ClearSolutions.text_stub = TEXT_STUB
    config.ExecutePreprocessor.timeout = 600
    return config


@contextlib.contextmanager
def course_api(course_dir, db_path=None):
    """nbgrader's Python API for the course in ``course_dir``, set up like its nbgrader_config.py."""
    from nbgrader.apps import NbGraderAPI
    course = Path(course_dir).resolve()
    # nbgrader runs its `alembic` script to set up the gradebook: find it beside this Python even
    # when the environment is not activated (e.g. `.venv/bin/python -m lenet_helpers student`).
    path = os.environ.get('PATH', '')
    os.environ['PATH'] = os.pathsep.join([str(Path(sys.executable).parent), path])
    try:
        yield NbGraderAPI(config=_config(course, db_path or course / 'gradebook.db'))
    finally:
        os.environ['PATH'] = path


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def _zip_bytes(files, assignment):
    """A reproducible zip (fixed dates) of {name: bytes} under the folder ``assignment/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(f'{assignment}/{name}', date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, files[name], zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _read_manifest(course):
    path = course / MANIFEST
    if not path.exists():
        return {}
    try:
        files = json.loads(path.read_text())['files']
        assert isinstance(files, dict)
        return files
    except Exception:
        raise StudentVersionError(f'{path} is damaged, so nothing under {course} can be proven to be ours. '
                                  f'Nothing was changed. Delete {path} and rerun with --force to overwrite.') from None


def _generate(notebooks, course, assignment, scratch):
    """Run nbgrader on copies in ``scratch``; return ({relative path: bytes} to write, scratch gradebook)."""
    source = scratch / 'source' / assignment
    source.mkdir(parents=True)
    outputs = {}
    for nb in notebooks:
        data = nb.read_bytes()
        (source / nb.name).write_bytes(data)
        outputs[f'source/{assignment}/{nb.name}'] = data
    db = scratch / 'gradebook.db'
    if (course / 'gradebook.db').exists():
        shutil.copy2(course / 'gradebook.db', db)  # keeps every grade; replaced only when all is well
    with course_api(scratch, db) as api:
        result = api.generate_assignment(assignment, force=True, create=True)
    if not result.get('success'):
        raise StudentVersionError(f'nbgrader could not generate the student versions (nothing was changed):\n'
                                  f'{result.get("error") or ""}\n{result.get("log") or ""}')
    release = scratch / 'release' / assignment
    made = sorted(p.name for p in release.glob('*.ipynb'))
    expected = sorted(nb.name for nb in notebooks)
    if made != expected:
        raise StudentVersionError(f'nbgrader made {made}, expected {expected}; nothing was changed. Its log:\n{result.get("log")}')
    student = {name: (release / name).read_bytes() for name in made}
    for name, data in student.items():
        outputs[f'release/{assignment}/{name}'] = data
    outputs[f'{assignment}-student.zip'] = _zip_bytes(student, assignment)
    return outputs, db


def _write_bytes(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def make_student_versions(notebooks=None, course_dir='course', assignment=ASSIGNMENT, force=False):
    """Build or update the nbgrader course in ``course_dir``; return the folder of student notebooks.

    ``notebooks``: instructor notebooks (paths or names in notebooks/; default: every exercise notebook
    with nbgrader metadata). Raises StudentVersionError, with nothing under ``course_dir`` changed,
    for a bad argument, for nbgrader's refusal, or for files in the way that this command did not write
    last time or that were edited since (listed; ``force=True`` overwrites those, never deletes them).
    """
    notebooks = resolve_notebooks(None if notebooks is None else list(notebooks))
    course = Path(course_dir).resolve()
    if course.exists() and not course.is_dir():
        raise StudentVersionError(f'{course} is a file; give --course a folder. Nothing was changed.')
    try:
        check_writable_dir(course, 'course')
    except ValueError as e:
        raise StudentVersionError(str(e)) from None
    manifest = _read_manifest(course)

    with tempfile.TemporaryDirectory(prefix='lenet-student-') as scratch:
        outputs, scratch_db = _generate(notebooks, course, assignment, Path(scratch))
        hashes = {rel: sha256(data) for rel, data in outputs.items()}

        in_the_way, kept = [], []
        for rel in outputs:
            path = course / rel
            if path.exists():
                current = sha256(path.read_bytes())
                if current != hashes[rel] and manifest.get(rel) != current:
                    in_the_way.append(rel)
        obsolete = [rel for rel in manifest if rel not in outputs and (course / rel).exists()]
        for rel in obsolete:
            if sha256((course / rel).read_bytes()) != manifest[rel]:
                kept.append(rel)
        if in_the_way and not force:
            raise StudentVersionError(
                f'Nothing was changed: these files under {course} were edited since the student command wrote '
                f'them, or were not written by it:\n  ' + '\n  '.join(in_the_way) +
                '\nMove your changes elsewhere (the instructor versions in notebooks/ are the source of truth), '
                'or rerun with --force to overwrite these files.')

        # From here on, every check has passed: write.
        gradebook = course / 'gradebook.db'
        for rel, data in outputs.items():
            _write_bytes(course / rel, data)
        for rel in obsolete:
            if rel not in kept:
                (course / rel).unlink()
        _write_bytes(gradebook, scratch_db.read_bytes())
    config_file = course / 'nbgrader_config.py'
    if not config_file.exists():
        config_file.write_text(CONFIG_TEMPLATE.format(course_id=COURSE_ID, code_stub=CODE_STUB, text_stub=TEXT_STUB))
    atomic_write_json(course / MANIFEST, {'assignment': assignment, 'files': hashes})
    for rel in kept:
        print(f'kept {course / rel}: written by an earlier run and edited since, no longer produced', file=sys.stderr)
    if in_the_way:
        print('overwritten (--force): ' + ', '.join(in_the_way), file=sys.stderr)
    return course / 'release' / assignment


def release_zip(course_dir='course', assignment=ASSIGNMENT):
    """Path of the zip of student versions that make_student_versions writes into the course folder."""
    return Path(course_dir).resolve() / f'{assignment}-student.zip'
