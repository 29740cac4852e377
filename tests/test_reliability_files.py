"""Class 3: saving never destroys the old file; values are made JSON-safe or refused before writing."""
import json
import os

import numpy as np
import pytest
import torch

from lenet_helpers import files


@pytest.fixture
def old_file(tmp_path):
    path = tmp_path / 'board.json'
    path.write_text('{"runs": ["my precious run"]}')
    return path


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith('.'))


@pytest.mark.parametrize('bad', [object(), {1, 2}, b'bytes', torch.zeros(3), np.zeros(2),
                                 {'deep': [1, {'x': object()}]}])
def test_a_value_json_cannot_store_leaves_the_old_file(old_file, bad):
    with pytest.raises(TypeError, match='cannot be saved as JSON'):
        files.atomic_write_json(old_file, {'runs': [bad]})
    assert json.loads(old_file.read_text()) == {'runs': ['my precious run']}
    assert leftovers(old_file.parent) == []


@pytest.mark.parametrize('stage', ['write', 'fsync', 'replace'])
def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary(old_file, monkeypatch, stage):
    def fail(*a, **k):
        raise OSError(28, 'No space left on device (simulated)')
    if stage == 'write':
        class Full:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                self.f.write(data[:5])  # part of the text reached the disk, then it filled up
                fail()
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, 'fdopen', lambda fd, mode: Full(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(os, stage, fail)
    with pytest.raises(OSError, match='No space left'):
        files.atomic_write_json(old_file, {'runs': ['new'] * 100})
    assert json.loads(old_file.read_text()) == {'runs': ['my precious run']}
    assert leftovers(old_file.parent) == []


def test_an_interrupt_mid_write_leaves_the_old_file(old_file, monkeypatch):
    def interrupt(*a):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, 'fsync', interrupt)
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write_text(old_file, 'half')
    assert 'my precious run' in old_file.read_text() and leftovers(old_file.parent) == []


def test_numpy_and_torch_scalars_become_python_numbers(tmp_path):
    path = files.atomic_write_json(tmp_path / 'h.json', {
        'acc': np.float32(0.5), 'n': np.int64(7), 'loss': torch.tensor(0.25), 'ok': np.bool_(True),
        'list': [np.float64(1.5), torch.tensor(3)], 'nan': float('nan'), 'inf': np.float64('inf'),
        'tuple': (1, 2), 'path': tmp_path})
    loaded = json.loads(path.read_text())
    assert loaded == {'acc': 0.5, 'n': 7, 'loss': 0.25, 'ok': True, 'list': [1.5, 3], 'nan': None, 'inf': None,
                      'tuple': [1, 2], 'path': str(tmp_path)}
    assert type(loaded['n']) is int and type(loaded['ok']) is bool


def test_replacing_keeps_the_permissions_and_writes_the_whole_file(tmp_path):
    path = tmp_path / 'h.json'
    path.write_text('old')
    path.chmod(0o644)
    files.atomic_write_json(path, {'x': list(range(1000))})
    assert json.loads(path.read_text())['x'][-1] == 999
    assert path.stat().st_mode & 0o777 == 0o644
    new = files.atomic_write_text(tmp_path / 'fresh.txt', 'hello')
    assert new.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert leftovers(tmp_path) == []


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_check_writable_file_refuses_folders_read_only_files_and_paths_under_files(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match='it is a folder'):
        files.check_writable_file(tmp_path, 'history')
    (tmp_path / 'a_file').write_text('x')
    with pytest.raises(ValueError, match='a_file is a file, not a folder'):
        files.check_writable_file(tmp_path / 'a_file' / 'h.json')
    ro = tmp_path / 'ro.json'
    ro.write_text('{}')
    real = os.access
    monkeypatch.setattr(os, 'access', lambda p, mode: False if str(p) == str(ro) else real(p, mode))
    with pytest.raises(ValueError, match='read-only'):
        files.check_writable_file(ro, 'leaderboard')


def test_check_writable_dir_finds_the_nearest_existing_ancestor(tmp_path, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, 'access', lambda p, mode: False if str(p) == str(tmp_path) else real(p, mode))
    with pytest.raises(ValueError, match=f'{tmp_path} is not writable'):
        files.check_writable_dir(tmp_path / 'a' / 'b' / 'c', 'run')
    monkeypatch.setattr(os, 'access', real)
    assert files.check_writable_dir(tmp_path / 'a' / 'b' / 'c') == tmp_path / 'a' / 'b' / 'c'
    assert list(tmp_path.iterdir()) == []
