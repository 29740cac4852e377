import json
import math
import re

import pytest
import torch
from torch import nn

import lenet_helpers as lh
import lenet_helpers.threads  # noqa: F401  (lh.threads, monkeypatched below)
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


def test_accumulator_keeps_tensors_as_tensors_until_read():
    acc = lh.Accumulator(2)
    for _ in range(3):
        acc.add(torch.tensor(1.5), torch.tensor(2))
    assert all(isinstance(d, torch.Tensor) for d in acc.data)  # nothing went to the host while adding
    assert acc[0] == 4.5 and acc[1] == 6.0 and isinstance(acc[0], float)


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
    assert out[0] == 'training on cpu'  # d2l's opening line
    assert re.fullmatch(r'loss \d+\.\d{3}, train acc \d\.\d{3}, test acc \d\.\d{3}', out[-2])
    assert re.fullmatch(rf'\d+\.\d examples/sec on cpu, {history.threads} threads? \(.+\)', out[-1])
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
    assert 'learning rate 0.9' in history.message and 'became nan in epoch 1' in history.message
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




def quiet(**kw):
    return dict(animate=False, progress=False, **kw)


def params_of(net):
    return [p.detach().clone() for p in net.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


# Class 4 of issue 12: a failed run is reported as a failure -------------------------------------

@pytest.mark.parametrize('make_net, lr', [
    (lh.lenet, 1e9),                                                   # sigmoid LeNet: huge but finite loss
    (lambda: lh.build_lenet(activation='relu'), 1000.0),               # ReLU LeNet
    (lambda: lh.build_lenet(activation='relu', pool='max'), 1e6),
])
def test_exploding_learning_rates_end_as_diverged(make_net, lr, capsys):
    lh.set_seed(0)
    train_iter, test_iter = toy_iters()
    history = lh.train_ch6(make_net(), train_iter, test_iter, 3, lr, 'cpu', **quiet())
    assert history.stopped == 'diverged'
    assert 'diverged' in history.message and 'Lower lr and train again' in history.message
    assert 'Lower lr' in capsys.readouterr().out


@pytest.mark.parametrize('blow_up, fragment', [
    (lambda out: out * 1e6, 'far above the 2.30 of an untrained net'),   # finite, enormous
    (lambda out: out * float('inf'), 'became'),                          # inf or nan
    (lambda out: out * float('nan'), 'became nan'),
])
def test_divergence_is_seen_at_the_next_reporting_point_with_the_same_advice(blow_up, fragment):
    train_iter, test_iter = toy_iters()
    net = StopAfter(12, blow_up)  # epoch 1 finishes (10 batches), epoch 2 blows up from its 3rd batch
    history = lh.train_ch6(net, train_iter, test_iter, 3, 0.9, 'cpu', **quiet())
    assert history.stopped == 'diverged' and history.epoch == [1]
    assert fragment in history.message and 'in epoch 2' in history.message
    assert 'The learning rate 0.9 is probably too high' in history.message


def test_a_healthy_sigmoid_run_is_not_called_diverged():
    lh.set_seed(1)
    train_iter, test_iter = toy_iters()
    history = lh.train_ch6(lh.lenet(), train_iter, test_iter, 2, 0.9, 'cpu', **quiet())
    assert history.stopped == 'completed' and history.message == ''
    assert max(history.train_loss) < lh.training.DIVERGED_LOSS


@pytest.mark.parametrize('error', [RuntimeError('mat1 and mat2 shapes cannot be multiplied'),
                                   ValueError('bad batch'), ZeroDivisionError('division by zero'),
                                   MemoryError('out of memory')])
def test_an_exception_mid_training_ends_as_failed_and_keeps_the_history(error, capsys):
    train_iter, test_iter = toy_iters()

    def fail(out):
        raise error
    net = StopAfter(13, fail)
    history = lh.train_ch6(net, train_iter, test_iter, 3, 0.5, 'cpu', **quiet())
    assert history.stopped == 'failed' and history.epoch == [1] and len(history.test_acc) == 1
    assert f'{type(error).__name__}: {error}' in history.message
    assert 'epoch 2, batch 4 of 10' in history.message
    assert same(net.snapshot, net.parameters())  # the weights it had when it failed
    out = capsys.readouterr().out
    assert type(error).__name__ in out and 'test acc' in out


def test_a_watcher_that_raises_ends_the_run_as_failed_not_with_a_traceback():
    train_iter, test_iter = toy_iters()

    def watcher(p):
        if p.kind == 'epoch':
            raise KeyError('plot')
    history = lh.train_ch6(lh.lenet(), train_iter, test_iter, 2, 0.5, 'cpu', on_progress=watcher, **quiet())
    assert history.stopped == 'failed' and "KeyError: 'plot'" in history.message
    assert history.epoch == [1]


def test_threads_are_restored_after_a_failed_or_interrupted_run():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        for fail in (lambda out: 1 / 0, lambda out: (_ for _ in ()).throw(KeyboardInterrupt)):
            train_iter, test_iter = toy_iters()
            lh.train_ch6(StopAfter(3, fail), train_iter, test_iter, 2, 0.5, 'cpu', threads=1, **quiet())
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


# Class 5 and 7 of issue 12: nonsense and odd inputs get a message ------------------------------

def batches_with(labels):
    X = torch.rand(len(labels), 1, 28, 28)
    return [(X, labels)]


def one_pass():
    yield torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])


class NoLen:
    def __iter__(self):
        return iter(batches_with(torch.tensor([0, 1])))


@pytest.mark.parametrize('which, bad, fragment', [
    ('train', [], 'train_iter is empty'),
    ('test', [], 'test_iter is empty'),
    ('train', ImageBatches(torch.zeros(0, 28, 28, dtype=torch.uint8), torch.zeros(0, dtype=torch.long), 8),
     'train_iter is empty'),
    ('train', one_pass(), 'train_iter is a one-pass iterator'),
    ('test', one_pass(), 'test_iter is a one-pass iterator'),
    ('train', NoLen(), 'train_iter has no len()'),
    ('train', batches_with(torch.tensor([0, 12])), 'train_iter holds the label 12'),
    ('test', batches_with(torch.tensor([3, -1])), 'test_iter holds the label -1'),
    ('train', ImageBatches(*bars_dataset(40)[:1], torch.arange(40) % 11, 8), 'train_iter holds the label 10'),
    ('test', ImageBatches(*bars_dataset(40)[:1], (torch.arange(40) * 7) % 13, 8), 'test_iter holds the label 12'),
    ('train', batches_with(torch.tensor([0., 1.])), 'dtype torch.float32'),
    ('test', batches_with(torch.tensor([0, 1], dtype=torch.int32)), 'labels.long()'),
    ('train', [(torch.rand(2, 1, 28, 28), [0, 1])], 'must be a tensor of integer class indices'),
])
def test_bad_data_raises_a_clear_value_error_before_any_work(which, bad, fragment):
    train_iter, test_iter = toy_iters()
    if which == 'train':
        train_iter = bad
    else:
        test_iter = bad
    net = lh.lenet()
    before = params_of(net)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        lh.train_ch6(net, train_iter, test_iter, 1, 0.9, 'cpu', **quiet())
    assert same(before, net.parameters())


class Scores(nn.Module):
    """Returns fixed outputs of a given width (the first column largest)."""

    def __init__(self, width, flat=False):
        super().__init__()
        self.width, self.flat = width, flat

    def forward(self, x):
        out = torch.zeros(x.shape[0], self.width)
        out[:, 0] = 1
        return out[:, 0] if self.flat else out


@pytest.mark.parametrize('net, fragment', [
    (Scores(1), 'outputs of shape (30, 1) for 30 labels'),
    (Scores(10, flat=True), 'outputs of shape (30,) for 30 labels'),
    (nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Flatten(0)), 'outputs of shape (300,) for 30 labels'),
])
def test_evaluate_accuracy_refuses_outputs_that_are_not_class_scores(net, fragment):
    _, test_iter = toy_iters(n_test=90, batch_size=30)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        lh.evaluate_accuracy_gpu(net, test_iter)


@pytest.mark.parametrize('empty', [[], ImageBatches(torch.zeros(0, 28, 28, dtype=torch.uint8),
                                                    torch.zeros(0, dtype=torch.long), 8), iter([])])
def test_evaluate_accuracy_on_no_examples_raises(empty):
    with pytest.raises(ValueError, match='no examples'):
        lh.evaluate_accuracy_gpu(lh.lenet(), empty)


# Class 12 of issue 12: tests that catch real bugs ----------------------------------------------

def test_test_accuracy_comes_from_the_test_set_not_the_training_set():
    """A net that always answers class 0; every training label is 0, 3 in 10 test labels are."""
    X = torch.rand(20, 1, 28, 28)
    train_iter = [(X[:10], torch.zeros(10, dtype=torch.long)), (X[10:], torch.zeros(10, dtype=torch.long))]
    test_iter = [(X[:10], torch.tensor([0, 1, 2, 0, 4, 5, 6, 0, 8, 9]))]
    history = lh.train_ch6(ModeSpy(), train_iter, test_iter, 2, 0.1, 'cpu', **quiet())
    assert history.train_acc == [1.0, 1.0]
    assert history.test_acc == [pytest.approx(0.3), pytest.approx(0.3)]


def test_sgd_steps_match_a_hand_computed_update():
    """Softmax regression, two batches: W -= lr * (softmax(XW' + b) - onehot)' X / B, gradients fresh each step."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    batches = [(torch.rand(4, 1, 28, 28), torch.tensor([0, 3, 3, 9])),
               (torch.rand(4, 1, 28, 28), torch.tensor([1, 2, 5, 5]))]
    W, b = net[1].weight.detach().clone().double(), net[1].bias.detach().clone().double()
    lr = 0.01
    for X, y in batches:  # by hand, no autograd
        x = X.reshape(4, -1).double()
        p = torch.softmax(x @ W.T + b, dim=1)
        err = (p - nn.functional.one_hot(y, 10).double()) / len(y)
        W, b = W - lr * err.T @ x, b - lr * err.sum(0)
    history = lh.train_ch6(net, batches, batches, 1, lr, 'cpu', init=False, **quiet())
    assert history.stopped == 'completed'
    assert torch.allclose(net[1].weight.double(), W, atol=1e-5)
    assert torch.allclose(net[1].bias.double(), b, atol=1e-5)


class FakeClock:
    def __init__(self, step):
        self.now, self.step = 100.0, step

    def perf_counter(self):
        self.now += self.step
        return self.now


def test_timer_reports_seconds_against_a_mocked_clock(monkeypatch):
    clock = FakeClock(0.25)
    monkeypatch.setattr(lh.timing, 'time', clock)
    t = lh.Timer()
    assert t.stop() == 0.25          # seconds, not milliseconds
    t.start()
    clock.now += 2.0
    assert t.stop() == 2.25
    assert t.sum() == 2.5 and t.avg() == 1.25 and t.cumsum() == [0.25, 2.5]


@pytest.mark.parametrize('step, batch_size', [(0.5, 64), (0.01, 32), (2.0, 40)])
def test_examples_per_sec_counts_examples_over_timed_seconds(monkeypatch, step, batch_size, capsys):
    clock = FakeClock(step)  # every batch's lap is exactly one tick of the fake clock
    monkeypatch.setattr(lh.timing, 'time', clock)
    train_iter, test_iter = toy_iters(n_train=640, batch_size=batch_size)
    history = lh.train_ch6(lh.lenet(), train_iter, test_iter, 2, 0.5, 'cpu', threads=1, **quiet())
    laps = 2 * len(train_iter)
    assert history.examples_per_sec == pytest.approx(2 * 640 / (laps * step))
    assert f'{2 * 640 / (laps * step):.1f} examples/sec on cpu' in capsys.readouterr().out


def test_no_host_sync_per_step(monkeypatch):
    """The number of tensor reads to the host does not grow with the number of batches."""
    monkeypatch.setattr(lh.training, 'REPORT_EVERY', 1e9)
    calls = []
    for name in ('item', '__float__', '__int__', '__bool__', 'tolist'):
        original = getattr(torch.Tensor, name)

        def spy(self, *a, _original=original, _name=name, **kw):
            calls.append(_name)
            return _original(self, *a, **kw)
        monkeypatch.setattr(torch.Tensor, name, spy)
    counts = []
    for n_train in (320, 1280):  # 5 and 20 batches per epoch
        calls.clear()
        train_iter, test_iter = toy_iters(n_train=n_train, batch_size=64)
        lh.train_ch6(lh.lenet(), train_iter, test_iter, 2, 0.5, 'cpu', threads=1, **quiet())
        counts.append(len(calls))
    assert counts[0] == counts[1] and counts[0] < 30


# Class 10 of issue 12: a run's record tells runs apart ----------------------------------------

def test_history_records_the_settings_threads_and_version(capsys):
    train_iter, test_iter = toy_iters(batch_size=64)
    train_iter.source = '/data/FashionMNIST/raw'
    history = lh.train_ch6(lh.lenet(), train_iter, test_iter, 1, 0.7, 'cpu', threads=1,
                           settings={'model': 'lenet', 'seed': 3}, **quiet())
    s = history.settings
    assert (s['model'], s['seed'], s['lr'], s['epochs'], s['batch_size']) == ('lenet', 3, 0.7, 1, 64)
    assert s['data'] == '/data/FashionMNIST/raw' and s['optimizer'] == 'SGD' and s['amp'] is False
    assert history.threads == 1 and history.device == 'cpu'
    assert history.version == lh.__version__ and history.schema == lh.training.SCHEMA == 2
    assert 'on cpu, 1 thread (set by threads=)' in capsys.readouterr().out


def test_history_without_caller_settings_names_the_model_class():
    train_iter, test_iter = toy_iters()
    history = lh.train_ch6(lh.lenet(), list(train_iter), list(test_iter), 1, 0.5, 'cpu', **quiet())
    assert history.settings['model'] == 'Sequential' and history.settings['batch_size'] is None


@pytest.mark.parametrize('settings, fragment', [([('seed', 1)], 'settings must be a dict'),
                                                ({'net': object()}, 'JSON file can store')])
def test_bad_settings_are_refused_before_training(settings, fragment):
    train_iter, test_iter = toy_iters()
    with pytest.raises(ValueError, match=fragment):
        lh.train_ch6(lh.lenet(), train_iter, test_iter, 1, 0.5, 'cpu', settings=settings, **quiet())


def test_history_saves_and_loads(tmp_path):
    h = lh.History(epoch=[1], train_loss=[0.5], train_acc=[0.8], test_acc=[0.79], seconds=[2.0],
                   examples_per_sec=1000.0, device='cpu', stopped='completed', threads=2,
                   settings={'model': 'lenet', 'lr': 0.9}, version='1.2.3')
    h.save(tmp_path / 'h.json')
    assert lh.History.load(tmp_path / 'h.json') == h
    assert 'test acc 0.790' in repr(h)


def test_an_old_history_file_without_the_new_fields_still_loads(tmp_path):
    old = {'epoch': [1, 2], 'train_loss': [0.9, 0.6], 'train_acc': [0.6, 0.7], 'test_acc': [0.65, 0.72],
           'seconds': [3.0, 6.0], 'examples_per_sec': 900.0, 'device': 'cpu', 'stopped': 'completed',
           'message': ''}
    (tmp_path / 'old.json').write_text(json.dumps(old))
    h = lh.History.load(tmp_path / 'old.json')
    assert h.test_acc == [0.65, 0.72] and h.schema == 1 and h.settings == {} and h.threads == 0


def test_a_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / 'h.json'
    lh.History(epoch=[1], train_loss=[1.0], train_acc=[0.5], test_acc=[0.5], stopped='completed').save(path)
    before = path.read_text()
    with pytest.raises(TypeError):
        lh.History(stopped='completed', settings={'net': object()}).save(path)
    assert path.read_text() == before and [p.name for p in tmp_path.iterdir()] == ['h.json']


def test_save_checks_the_destination_first(tmp_path):
    with pytest.raises(ValueError, match='it is a folder'):
        lh.History(stopped='completed').save(tmp_path)


@pytest.mark.parametrize('content, fragment', [
    (None, 'there is no such file'),
    ('{"epoch": [1], "train_loss": [0.5', 'truncated or damaged'),
    (b'\x89PNG\r\n\x1a\n\x00\x00\xff\xfe', 'binary file'),
    ('[1, 2, 3]', 'holds a JSON list'),
    ('{"runs": []}', 'lacks epoch, train_loss, train_acc, test_acc, stopped'),
    ('{"epoch": "1", "train_loss": [], "train_acc": [], "test_acc": [], "stopped": "completed"}',
     'epoch should be a list of numbers'),
    ('{"epoch": [], "train_loss": [], "train_acc": [], "test_acc": [], "stopped": "x", "schema": 99}',
     'newer than this'),
    ('', 'truncated or damaged'),
])
def test_loading_a_damaged_or_foreign_file_names_it(tmp_path, content, fragment):
    path = tmp_path / 'history.json'
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ValueError) as e:
        lh.History.load(path)
    assert fragment in str(e.value) and str(path) in str(e.value)


# Threads and mixed precision ------------------------------------------------------------------

@pytest.mark.parametrize('threads', [0, -1, True, 1.5, '2'])
def test_bad_thread_counts_are_refused(threads):
    train_iter, test_iter = toy_iters()
    with pytest.raises(ValueError, match='threads must be a positive integer'):
        lh.train_ch6(lh.lenet(), train_iter, test_iter, 1, 0.5, 'cpu', threads=threads, **quiet())


def test_threads_override_is_used_and_the_setting_restored():
    before = torch.get_num_threads()
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = lh.lenet()

        def forward(self, x):
            seen.append(torch.get_num_threads())
            return self.net(x)
    try:
        torch.set_num_threads(2)
        train_iter, test_iter = toy_iters()
        history = lh.train_ch6(Probe(), train_iter, test_iter, 1, 0.5, 'cpu', threads=1, **quiet())
        assert set(seen[1:]) == {1} and history.threads == 1  # seen[0]: the shape check before training
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_automatic_threads_on_a_one_cpu_machine(monkeypatch, capsys):
    monkeypatch.setattr(lh.threads, 'available_cpus', lambda *a: 1)
    train_iter, test_iter = toy_iters()
    history = lh.train_ch6(lh.lenet(), train_iter, test_iter, 1, 0.5, 'cpu', **quiet())
    assert history.threads == 1
    assert '1 thread (all this machine allows)' in capsys.readouterr().out


def test_automatic_threads_measure_each_candidate(monkeypatch):
    monkeypatch.setattr(lh.threads, 'available_cpus', lambda *a: 2)
    used = []
    monkeypatch.setattr(torch, 'set_num_threads', lambda n, _set=torch.set_num_threads: (used.append(n), _set(n)))
    before = torch.get_num_threads()
    train_iter, test_iter = toy_iters(n_train=1280, batch_size=32)  # 40 batches: a whole trial fits
    history = lh.train_ch6(lh.lenet(), train_iter, test_iter, 1, 0.5, 'cpu', **quiet())
    assert {1, 2} <= set(used) and history.threads in (1, 2) and used[-1] == before


def test_amp_trains_in_bfloat16_on_the_cpu():
    dtypes = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = lh.lenet()

        def forward(self, x):
            out = self.net(x)
            dtypes.append(out.dtype)
            return out
    lh.set_seed(0)
    train_iter, test_iter = toy_iters()
    history = lh.train_ch6(Probe(), train_iter, test_iter, 1, 0.5, 'cpu', amp=True, **quiet())
    assert history.stopped == 'completed' and history.settings['amp'] is True
    assert torch.bfloat16 in dtypes
    dtypes.clear()
    lh.train_ch6(Probe(), train_iter, test_iter, 1, 0.5, 'cpu', **quiet())
    assert set(dtypes) == {torch.float32}


def test_concurrent_saves_to_one_file_never_leave_a_mix(tmp_path):
    import threading
    path = tmp_path / 'history.json'
    runs = [lh.History(epoch=list(range(1, 201)), train_loss=[float(k)] * 200, train_acc=[0.5] * 200,
                       test_acc=[0.5] * 200, stopped='completed', settings={'run': k}) for k in (1, 2)]
    runs[0].save(path)
    errors, seen = [], set()

    def writer(h):
        for _ in range(25):
            h.save(path)

    def reader():
        for _ in range(50):
            try:
                seen.add(lh.History.load(path).settings['run'])
            except ValueError as e:
                errors.append(e)
    threads = [threading.Thread(target=writer, args=(h,)) for h in runs] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and seen <= {1, 2}
    assert lh.History.load(path) in runs and [p.name for p in tmp_path.iterdir()] == ['history.json']


def test_a_history_round_trips_through_its_dict_as_run_logs_store_it():
    h = lh.History(epoch=[1], train_loss=[0.4], train_acc=[0.9], test_acc=[0.88], stopped='stopped',
                   threads=1, settings={'seed': 0}, version='x')
    assert lh.History(**h.to_dict()) == h == lh.History.from_dict(h.to_dict())


def test_a_dataloader_trains_and_is_recorded(capsys):
    from torch.utils.data import DataLoader, TensorDataset
    images, labels = bars_dataset(256)
    data = TensorDataset(images.unsqueeze(1).float() / 255, labels)
    train_iter = DataLoader(data, batch_size=32, shuffle=True)
    test_iter = DataLoader(data, batch_size=64)
    history = lh.train_ch6(lh.lenet(), train_iter, test_iter, 1, 0.5, 'cpu', **quiet())
    assert history.stopped == 'completed' and history.settings['batch_size'] == 32
    assert history.settings['data'] == 'TensorDataset'


def test_the_progress_bar_redraws_at_most_once_per_bar_every(monkeypatch):
    """Each redraw in a notebook is a widget message the page handles while training competes for the cores."""
    import tqdm.auto
    made = []
    real = tqdm.auto.tqdm

    def recording_tqdm(*args, **kwargs):
        made.append(kwargs)
        return real(*args, **kwargs)
    monkeypatch.setattr(tqdm.auto, 'tqdm', recording_tqdm)
    train_iter, test_iter = toy_iters()
    lh.train_ch6(lh.lenet(), train_iter, test_iter, 1, 0.1, 'cpu', animate=False, progress=True)
    assert made and made[0]['mininterval'] == lh.training.BAR_EVERY >= 1.0
