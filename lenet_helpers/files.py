"""Saving files safely: check the destination before work starts, write atomically, store only JSON-safe values."""
import json
import math
import os
import tempfile
from pathlib import Path


def read_json(path, what, writer, error=ValueError):
    """Read the JSON file `writer` wrote at path; any reason it cannot be read raises `error` naming the file.

    ``what`` names the file for the reader ("history", "run log"); every message starts with
    "Cannot load the {what} {path}:" and says what is wrong: no such file, a folder, a binary file, or
    JSON that stops part-way (a truncated or damaged file).
    """
    path = Path(path)
    start = f'Cannot load the {what} {path}:'
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise error(f'{start} there is no such file. Check the name, or save a {what} there first.') from None
    except IsADirectoryError:
        raise error(f'{start} it is a folder. Give the {what} file inside it.') from None
    except UnicodeDecodeError:
        raise error(f'{start} it is a binary file, not the JSON text {writer} writes.') from None
    except OSError as e:
        raise error(f'{start} {e.strerror or e}.') from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f'{start} it is not complete JSON ({e.msg} at line {e.lineno}); the file is truncated or '
                    f'damaged.') from None


def json_safe(value):
    """Return value with numpy/torch scalars as Python numbers; raise TypeError for what JSON cannot hold."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, 'item') and callable(value.item) and getattr(value, 'ndim', 0) == 0:  # numpy/torch scalar
        return json_safe(value.item())
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f'{type(value).__name__} value {value!r} cannot be saved as JSON; '
                    f'store numbers, strings, lists or dicts.')


def check_writable_file(path, what='file'):
    """Raise ValueError, before any work, when path cannot be written (a folder, or its folder not writable)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f'Cannot save the {what} to {path}: it is a folder. Give a file name.')
    folder = path.parent if str(path.parent) else Path('.')
    check_writable_dir(folder, what)
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f'Cannot save the {what} to {path}: the file is read-only. Choose another name.')
    return path


def check_writable_dir(folder, what='files'):
    """Raise ValueError, before any work, when folder cannot be made or written; return it as a Path."""
    folder = Path(folder)
    probe = folder
    while not probe.exists():  # the nearest existing ancestor decides whether the folder can be made
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ValueError(f'Cannot save the {what} in {folder}: {probe} is a file, not a folder. '
                         f'Choose another folder.')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f'Cannot save the {what} in {folder}: {probe} is not writable. Choose another folder.')
    return folder


def atomic_write_text(path, text):
    """Write text to path through a temporary file in the same folder: the old file survives any failure."""
    return atomic_write_bytes(path, text.encode('utf-8'))


def _mode_for(path):
    """The permission bits path keeps if it exists, else those a new file gets under the current umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path, data):
    """Write bytes to path through a temporary file in the same folder: the old file survives any failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        os.fchmod(fd, _mode_for(path))  # mkstemp makes the file private; give it the mode a plain open() would
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_json(path, obj):
    """Check obj is JSON-safe, then write it atomically (indent 1); the old file survives any failure."""
    return atomic_write_text(path, json.dumps(json_safe(obj), indent=1))
