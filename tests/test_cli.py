import json
import subprocess
import sys

import pytest

import lenet_helpers as lh
from lenet_helpers import cli, data
from conftest import make_idx_dataset


def test_help_explains_every_option():
    out = subprocess.run([sys.executable, '-m', 'lenet_helpers', 'train', '--help'],
                         capture_output=True, text=True, check=True).stdout
    for option in ('--epochs', '--lr', '--batch-size', '--model', '--out', '--device', '--seed',
                   '--dataset', '--data-dir'):
        assert option in out


def test_train_writes_curve_and_history(fake_fashion, tmp_path, capsys):
    root, _ = fake_fashion
    code = cli.main(['train', '--epochs', '1', '--lr', '0.1', '--batch-size', '512', '--data-dir', str(root),
                     '--out', str(tmp_path / 'run'), '--seed', '0'])
    assert code == 0
    out = capsys.readouterr().out
    assert 'epoch 1/1: loss' in out and 'examples/sec on cpu' in out and 'train acc' in out
    history = lh.History.load(tmp_path / 'run' / 'history.json')
    assert history.stopped == 'completed' and history.epoch == [1]
    assert (tmp_path / 'run' / 'curve.png').read_bytes()[:4] == b'\x89PNG'
    assert json.loads((tmp_path / 'run' / 'history.json').read_text())['device'] == 'cpu'


def test_bad_arguments_exit_with_a_message(fake_fashion, tmp_path, capsys):
    root, _ = fake_fashion
    with pytest.raises(SystemExit) as exit_:
        cli.main(['train', '--epochs', '0', '--data-dir', str(root)])
    assert exit_.value.code == 2
    assert 'argument --epochs: expected a whole number of at least 1, got 0' in capsys.readouterr().err
    assert cli.main(['train', '--device', 'cuda:9', '--data-dir', str(root), '--out', str(tmp_path)]) == 2
    assert '--device cpu' in capsys.readouterr().err


def test_missing_data_exits_with_the_ways_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, 'PROJECT_DATA_DIR', tmp_path / 'none')
    monkeypatch.setattr(data, 'SYSTEM_DIRS', {})
    monkeypatch.setattr(data, '_download', lambda name, root: (_ for _ in ()).throw(
        data.DataNotFoundError('download failed (simulated)')))
    assert cli.main(['train', '--out', str(tmp_path / 'run')]) == 2
    assert 'download failed' in capsys.readouterr().err
    assert not (tmp_path / 'run').exists()


def test_data_command_puts_uncompressed_files_in_place(tmp_path, monkeypatch):
    source = tmp_path / 'system'
    make_idx_dataset(source, gz=True)
    monkeypatch.setattr(data, 'SYSTEM_DIRS', {'FashionMNIST': source})
    monkeypatch.setattr(data, 'PROJECT_DATA_DIR', tmp_path / 'project')
    raw = cli.prepare_data(tmp_path / 'dest')
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        s for split in data.SPLITS.values() for s in split[:2])
    assert (raw / 't10k-labels-idx1-ubyte').stat().st_size == 10008
