"""Class 8: an unreadable IDX file is a permission problem, a truncated or foreign one is damaged; each named."""
import builtins
import gzip
import os

import pytest
import torch

import lenet_helpers as lh
from lenet_helpers import data
from conftest import make_idx_dataset, write_idx


def deny(monkeypatch, path):
    """Make opening `path` raise PermissionError, as for a file without read permission (tests run as root)."""
    real_open = builtins.open

    def guarded(file, *a, **k):
        if os.path.abspath(str(file)) == os.path.abspath(str(path)):
            raise PermissionError(13, 'Permission denied', str(path))
        return real_open(file, *a, **k)
    monkeypatch.setattr(builtins, 'open', guarded)


@pytest.mark.parametrize('gz', [False, True])
def test_unreadable_idx_is_reported_as_permission_not_damage(tmp_path, monkeypatch, gz):
    path = tmp_path / ('labels.idx' + ('.gz' if gz else ''))
    write_idx(path, torch.arange(10, dtype=torch.uint8), gz=gz)
    if os.geteuid() == 0:
        deny(monkeypatch, path)
    else:
        path.chmod(0)
    with pytest.raises(lh.DataUnreadableError) as err:
        data.read_idx(path)
    message = str(err.value)
    assert str(path) in message and 'permission denied' in message and 'chmod a+r' in message
    assert 'damaged' not in message.replace('not damaged', '')


def test_unreadable_file_inside_a_dataset_is_named_with_the_fix(tmp_path, monkeypatch):
    folder, _ = make_idx_dataset(tmp_path / 'FashionMNIST', n_train=60000, n_test=10000)
    target = folder / 't10k-images-idx3-ubyte'
    deny(monkeypatch, target)
    with pytest.raises(lh.DataNotFoundError) as err:
        lh.load_data_fashion_mnist(64, root=tmp_path, download=False)
    assert isinstance(err.value, lh.DataUnreadableError)
    assert str(target) in str(err.value) and 'Replace the files' not in str(err.value)


@pytest.mark.parametrize('damage, fragment', [
    ('truncated', 'truncated or damaged'),
    ('empty', r'too short to be an IDX file \(0 bytes\): the file is damaged'),
    ('foreign', 'not an IDX file of unsigned bytes .* the file is damaged'),
    ('text', 'not an IDX file'),
    ('bad-gzip', 'the file is damaged'),
])
def test_truncated_or_foreign_idx_is_damaged_and_named(tmp_path, damage, fragment):
    path = tmp_path / ('images.gz' if damage == 'bad-gzip' else 'images')
    write_idx(path, torch.zeros(4, 28, 28, dtype=torch.uint8), gz=damage == 'bad-gzip')
    raw = path.read_bytes()
    path.write_bytes({'truncated': raw[:-10], 'empty': b'', 'foreign': b'\x89PNG\r\n\x1a\n' + bytes(100),
                      'text': b'{"epoch": [1, 2]}\n', 'bad-gzip': raw[:len(raw) // 2]}[damage])
    with pytest.raises(lh.DataNotFoundError, match=fragment) as err:
        data.read_idx(path)
    assert str(path) in str(err.value) and not isinstance(err.value, lh.DataUnreadableError)


def test_a_missing_idx_file_is_named(tmp_path):
    with pytest.raises(lh.DataNotFoundError, match='could not be read'):
        data.read_idx(tmp_path / 'nothing-here')
