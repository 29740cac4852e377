import math
import re

import pytest
import torch
from torch import nn

import lenet_helpers as lh
from lenet_helpers.data import ImageBatches


def bars_dataset(n, seed=0):
    """A learnable toy task: class k is a bright horizontal bar at rows 2k..2k+1, plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = torch.randint(0, 60, (n, 28, 28), generator=g, dtype=torch.uint8)
    for k in range(10):
        images[labels == k, 2 * k + 4:2 * k + 6, :] = 255
    return images, labels


def toy_iters(n_train=640, n_test=200, batch_size=64, seed=0):
    """About 10 training batches: enough for mechanics; learning tests ask for more."""
    train = ImageBatches(*bars_dataset(n_train, seed), batch_size, shuffle=True)
    test = ImageBatches(*bars_dataset(n_test, seed + 1), batch_size)
    return train, test


def test_accumulator_adds_resets_and_indexes():
    acc = lh.Accumulator(3)
    acc.add(1, 2.5, torch.tensor(3))
    acc.add(1, 0.5, 1)
    assert (acc[0], acc[1], acc[2]) == (2.0, 3.0, 4.0)
    acc.reset()
    assert acc.data == [0.0, 0.0, 0.0]


def test_accuracy_counts_correct_predictions():
    y = torch.tensor([0, 1, 2, 2])
    scores = torch.tensor([[5., 0, 0], [0, 5, 0], [5, 0, 0], [0, 0, 5]])
    assert lh.accuracy(scores, y) == 3.0
    assert lh.accuracy(torch.tensor([0, 1, 1, 2]), y) == 3.0


def test_timer_records_laps_and_cumsum_without_numpy():
    t = lh.Timer()
    t.times = [1.0, 2.0, 3.5]
    assert t.sum() == 6.5 and t.avg() == pytest.approx(6.5 / 3)
    assert t.cumsum() == [1.0, 3.0, 6.5]
    t.start()
    assert t.stop() >= 0 and len(t.times) == 4
    assert lh.Timer().avg() >= 0  # no division by zero before a lap... start() made none yet
    assert lh.Timer().cumsum() == []


class ModeSpy(nn.Module):
    """Records whether it ran in training mode and with gradients; predicts class 0."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        out = torch.zeros(x.shape[0], 10)
        out[:, 0] = 1
        return out + self.w


def test_evaluate_accuracy_uses_eval_mode_without_gradients_and_restores_mode():
    _, test_iter = toy_iters(n_test=100, batch_size=30)
    net = ModeSpy()
    net.train()
    acc = lh.evaluate_accuracy_gpu(net, test_iter)
    assert acc == pytest.approx(10 / 100)  # exactly the class-0 examples
    assert net.seen and all(mode == (False, False) for mode in net.seen)
    assert net.training


def test_evaluate_accuracy_counts_examples_not_shape_sums():
    """The chapter's helper counted sum(y.shape); a partial last batch must count its real size."""
    images, labels = bars_dataset(13)
    it = ImageBatches(images, labels, 5)
    net = ModeSpy()
    assert lh.evaluate_accuracy_gpu(net, it) == pytest.approx(int((labels == 0).sum()) / 13)


def test_training_lowers_the_loss_and_reports_like_the_chapter(capsys):
    lh.set_seed(0)
    train_iter, test_iter = toy_iters(n_train=1280, batch_size=32)
    # ReLU and max pooling learn in a few dozen steps; the sigmoid LeNet sits on a plateau for hundreds
    net = lh.build_lenet(activation='relu', pool='max')
    history = lh.train_ch6(net, train_iter, test_iter, 4, 0.1, 'cpu', animate=False, progress=False)
    assert history.stopped == 'completed' and history.epoch == [1, 2, 3, 4]
    assert history.train_loss[-1] < history.train_loss[0] - 0.3
    assert history.test_acc[-1] > 0.5
    assert len(history.seconds) == 4 and history.seconds == sorted(history.seconds)
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r'loss \d+\.\d{3}, train acc \d\.\d{3}, test acc \d\.\d{3}', out[-2])
    assert re.fullmatch(r'\d+\.\d examples/sec on cpu', out[-1])
    assert history.examples_per_sec > 0


def test_seeded_runs_repeat_exactly():
    results = []
    for _ in range(2):
        lh.set_seed(3)
        train_iter, test_iter = toy_iters()
        net = lh.lenet()
        h = lh.train_ch6(net, train_iter, test_iter, 2, 0.5, 'cpu', animate=False, progress=False)
        results.append((h.train_loss, h.test_acc, [p.detach().clone() for p in net.parameters()]))
    assert results[0][0] == results[1][0] and results[0][1] == results[1][1]
    assert all(torch.equal(a, b) for a, b in zip(results[0][2], results[1][2]))


class StopAfter(nn.Module):
    """Wraps LeNet; after `calls` training forward passes it raises what `fail` makes."""

    def __init__(self, calls, fail):
        super().__init__()
        self.net, self.calls, self.fail = lh.lenet(), calls, fail
        self.snapshot = None

    def forward(self, x):
        if self.training:
            self.calls -= 1
            if self.calls < 0:
                self.snapshot = [p.detach().clone() for p in self.parameters()]
                return self.fail(self.net(x))
        return self.net(x)


def test_interrupt_keeps_weights_and_returns_history_so_far(capsys):
    train_iter, test_iter = toy_iters()  # 10 batches per epoch

    def interrupt(out):
        raise KeyboardInterrupt
    net = StopAfter(15, interrupt)
    history = lh.train_ch6(net, train_iter, test_iter, 5, 0.9, 'cpu', animate=False, progress=False)
    assert history.stopped == 'interrupted' and history.epoch == [1]
    assert 'interrupted in epoch 2, batch 6 of 10' in history.message
    assert all(torch.equal(a, b) for a, b in zip(net.snapshot, net.parameters()))
    out = capsys.readouterr().out
    assert 'keeps the weights' in out and 'test acc' in out


def test_nan_loss_stops_with_advice_about_the_learning_rate(capsys):
    train_iter, test_iter = toy_iters()
    net = StopAfter(3, lambda out: out * float('nan'))
    history = lh.train_ch6(net, train_iter, test_iter, 3, 0.9, 'cpu', animate=False, progress=False)
    assert history.stopped == 'diverged' and history.epoch == []
    assert 'learning rate 0.9' in history.message and 'batch 4' in history.message
    assert 'diverged' in capsys.readouterr().out


@pytest.mark.parametrize('epochs, lr, device, fragment', [
    (0, 0.9, 'cpu', 'num_epochs must be an integer of at least 1, got 0'),
    (2.0, 0.9, 'cpu', 'num_epochs must be an integer'),
    (True, 0.9, 'cpu', 'num_epochs must be an integer'),
    (1, 0, 'cpu', 'lr must be a finite number above 0, got 0'),
    (1, -0.1, 'cpu', 'lr must be a finite number above 0'),
    (1, float('nan'), 'cpu', 'lr must be a finite number'),
    (1, math.inf, 'cpu', 'lr must be a finite number'),
    (1, '0.1', 'cpu', "got '0.1'"),
    (1, 0.9, 'tpu', 'device must be'),
    (1, 0.9, 'cuda:7', 'is not available'),
])
def test_bad_arguments_raise_before_any_work(epochs, lr, device, fragment):
    if device == 'cuda:7' and torch.cuda.device_count() > 7:
        pytest.fail('this test assumes fewer than 8 GPUs')
    train_iter, test_iter = toy_iters()
    net = lh.lenet()
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ValueError, match=re.escape(fragment)):
        lh.train_ch6(net, train_iter, test_iter, epochs, lr, device, animate=False, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_wrong_output_shape_is_explained_and_weights_untouched():
    train_iter, test_iter = toy_iters()
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 5))
    before = net[1].weight.detach().clone()
    with pytest.raises(ValueError, match=r'must output \(batch, 10\).*\(2, 5\)'):
        lh.train_ch6(net, train_iter, test_iter, 1, 0.1, 'cpu', animate=False, progress=False)
    assert torch.equal(before, net[1].weight)


def test_try_gpu_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 0)
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: False)
    assert lh.try_gpu() == torch.device('cpu')
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: True)
    assert lh.try_gpu() == torch.device('mps')
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    assert lh.try_gpu() == torch.device('cuda:0') and lh.try_gpu(1) == torch.device('cuda:1')


def test_history_saves_and_loads(tmp_path):
    h = lh.History(epoch=[1], train_loss=[0.5], train_acc=[0.8], test_acc=[0.79], seconds=[2.0],
                   examples_per_sec=1000.0, device='cpu', stopped='completed')
    h.save(tmp_path / 'h.json')
    assert lh.History.load(tmp_path / 'h.json') == h
    assert 'test acc 0.790' in repr(h)
