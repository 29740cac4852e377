"""Class 1: every command that writes checks its destination before it loads data or trains."""
import os

import pytest

import lenet_helpers as lh
from lenet_helpers import cli, data, files
from test_builder import tiny_data


@pytest.fixture
def no_work(monkeypatch):
    """Loading data or training counts as work: a test fails if either starts."""
    monkeypatch.setattr(data, 'load_data_fashion_mnist', lambda *a, **k: pytest.fail('data loaded before the check'))
    monkeypatch.setattr(data, 'load_split', lambda *a, **k: pytest.fail('data loaded before the check'))
    monkeypatch.setattr(lh.training, 'train_ch6', lambda *a, **k: pytest.fail('training started before the check'))


def refuse_writes_to(monkeypatch, folder):
    """Make `folder` look read-only to os.access (the tests run as root, for whom chmod changes nothing)."""
    real = os.access
    monkeypatch.setattr(os, 'access', lambda p, mode, *a, **k: False if os.path.abspath(p) == os.path.abspath(folder)
                        and mode & os.W_OK else real(p, mode, *a, **k))


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, no_work, capsys):
    target = tmp_path / 'run'
    target.write_text('my notes')
    assert cli.main(['train', '--out', str(target)]) == 2
    err = capsys.readouterr().err
    assert f'--out {target}' in err and 'is a file, not a folder' in err
    assert target.read_text() == 'my notes'


def test_out_under_a_file_is_refused(tmp_path, no_work, capsys):
    (tmp_path / 'notes.txt').write_text('x')
    assert cli.main(['train', '--out', str(tmp_path / 'notes.txt' / 'run' / 'deeper')]) == 2
    assert 'notes.txt is a file, not a folder' in capsys.readouterr().err


def test_out_in_a_read_only_folder_is_refused(tmp_path, no_work, monkeypatch, capsys):
    locked = tmp_path / 'locked'
    locked.mkdir()
    if os.geteuid() == 0:
        refuse_writes_to(monkeypatch, locked)
    else:
        locked.chmod(0o555)
    assert cli.main(['train', '--out', str(locked / 'run')]) == 2
    assert f'{locked} is not writable' in capsys.readouterr().err
    assert not (locked / 'run').exists()


def test_out_whose_history_file_is_a_folder_is_refused(tmp_path, no_work, capsys):
    (tmp_path / 'run' / 'history.json').mkdir(parents=True)
    assert cli.main(['train', '--out', str(tmp_path / 'run')]) == 2
    err = capsys.readouterr().err
    assert '--out' in err and 'history.json' in err and 'it is a folder' in err


def test_data_dest_that_is_a_file_or_under_a_file_is_refused(tmp_path, no_work, capsys):
    (tmp_path / 'data').write_text('not a folder')
    assert cli.main(['data', '--dest', str(tmp_path / 'data')]) == 2
    assert f'--dest {tmp_path / "data"}' in capsys.readouterr().err
    assert cli.main(['data', '--dest', str(tmp_path / 'data' / 'sub')]) == 2
    assert 'is a file, not a folder' in capsys.readouterr().err
    assert (tmp_path / 'data').read_text() == 'not a folder'


def test_data_dest_read_only_is_refused(tmp_path, no_work, monkeypatch, capsys):
    if os.geteuid() == 0:
        refuse_writes_to(monkeypatch, tmp_path)
    else:
        tmp_path.chmod(0o555)
    assert cli.main(['data', '--dest', str(tmp_path / 'data')]) == 2
    assert 'is not writable' in capsys.readouterr().err


def test_a_good_out_is_written_atomically_and_keeps_old_files_on_failure(tmp_path, monkeypatch, capsys):
    """The curve and history are written through a temporary file: a failed save leaves the old ones whole."""
    train, test = tiny_data()
    train.source = 'memory'
    monkeypatch.setattr(data, 'load_data_fashion_mnist', lambda *a, **k: (train, test))
    out = tmp_path / 'run'
    out.mkdir()
    (out / 'curve.png').write_bytes(b'old curve')
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith('curve.png'):
            raise OSError(28, 'No space left on device (simulated)')
        return real_replace(src, dst)
    monkeypatch.setattr(os, 'replace', failing_replace)
    assert cli.main(['train', '--epochs', '1', '--lr', '0.1', '--out', str(out), '--no-progress']) == 2
    err = capsys.readouterr().err
    assert 'could not write the results' in err and 'No space left' in err
    assert (out / 'curve.png').read_bytes() == b'old curve'
    assert sorted(p.name for p in out.iterdir()) == ['curve.png', 'history.json']  # no temporary file left
    monkeypatch.setattr(os, 'replace', real_replace)
    assert cli.main(['train', '--epochs', '1', '--lr', '0.1', '--out', str(out), '--no-progress']) == 0
    assert (out / 'curve.png').read_bytes()[:4] == b'\x89PNG'


def test_check_functions_return_the_path_for_good_destinations(tmp_path):
    assert files.check_writable_dir(tmp_path / 'new' / 'deeper') == tmp_path / 'new' / 'deeper'
    assert files.check_writable_file(tmp_path / 'x.json') == tmp_path / 'x.json'
    assert not (tmp_path / 'new').exists()  # checking makes nothing
