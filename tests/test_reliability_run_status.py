"""Class 4: the CLI exits non-zero, and says why, for a run that did not complete; it still keeps what it did."""
import pytest

import lenet_helpers as lh
from lenet_helpers import cli, data, training
from test_builder import tiny_data


@pytest.fixture
def tiny(monkeypatch):
    train, test = tiny_data()
    train.source = 'memory'
    monkeypatch.setattr(data, 'load_data_fashion_mnist', lambda *a, **k: (train, test))
    return train, test


def ended(stopped, message, epochs=1):
    """A train_ch6 stand-in whose run ends the given way after `epochs` finished epochs."""
    def fake(net, train_iter, test_iter, num_epochs, lr, device=None, **kwargs):
        return lh.History(epoch=list(range(1, epochs + 1)), train_loss=[9.9] * epochs, train_acc=[0.1] * epochs,
                          test_acc=[0.1] * epochs, seconds=[1.0] * epochs, device='cpu', stopped=stopped,
                          message=message)
    return fake


@pytest.mark.parametrize('stopped, message', [
    ('diverged', 'The training loss became 4.2e+12 in epoch 1 and was stopped. Lower --lr.'),
    ('failed', 'The forward pass raised RuntimeError in epoch 1.'),
    ('stopped', 'Training stopped in epoch 1, batch 2 of 4.'),
    ('interrupted', 'Interrupted with Ctrl-C in epoch 1.'),
])
def test_a_run_that_did_not_complete_exits_1_and_keeps_its_history(tmp_path, tiny, monkeypatch, capsys,
                                                                   stopped, message):
    monkeypatch.setattr(training, 'train_ch6', ended(stopped, message))
    assert cli.main(['train', '--out', str(tmp_path), '--epochs', '3']) == 1
    err = capsys.readouterr().err
    assert f'did not complete ({stopped})' in err and '1 finished epoch(s) are in history.json' in err
    assert (message in err) == (stopped == 'failed')  # the error itself; the others get CLI advice
    assert ('lower --lr (for example --lr 0.09)' in err) == (stopped == 'diverged')
    saved = lh.History.load(tmp_path / 'history.json')
    assert saved.stopped == stopped and saved.epoch == [1]
    assert (tmp_path / 'curve.png').read_bytes()[:4] == b'\x89PNG'


def test_a_run_with_no_finished_epoch_still_exits_1_with_a_curve_file(tmp_path, tiny, monkeypatch, capsys):
    monkeypatch.setattr(training, 'train_ch6', ended('diverged', 'Loss was NaN in the first batch.', epochs=0))
    assert cli.main(['train', '--out', str(tmp_path)]) == 1
    assert 'The loss exploded at --lr 0.9' in capsys.readouterr().err
    assert lh.History.load(tmp_path / 'history.json').epoch == []


def test_a_completed_run_exits_0(tmp_path, tiny, monkeypatch, capsys):
    monkeypatch.setattr(training, 'train_ch6', ended('completed', ''))
    assert cli.main(['train', '--out', str(tmp_path)]) == 0
    assert 'did not complete' not in capsys.readouterr().err


def test_a_real_exploding_run_exits_1(tmp_path, tiny, capsys):
    """lenet_plus at lr 1e9 really diverges within an epoch: no stand-in for train_ch6 here."""
    assert cli.main(['train', '--model', 'lenet_plus', '--lr', '1e9', '--epochs', '2', '--out', str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert 'did not complete (diverged)' in err and 'lower --lr (for example --lr 1e+08)' in err
    assert lh.History.load(tmp_path / 'history.json').stopped == 'diverged'
