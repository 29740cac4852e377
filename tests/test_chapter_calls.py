"""The chapter's interface, called the way CHAPTER.md lists it (names and call shapes): all of it runs."""
import inspect

import torch
from torch import nn

import lenet_helpers as lh


def test_signatures_match_the_chapter():
    params = lambda f: list(inspect.signature(f).parameters)
    assert params(lh.train_ch6)[:6] == ['net', 'train_iter', 'test_iter', 'num_epochs', 'lr', 'device']
    assert params(lh.load_data_fashion_mnist)[:2] == ['batch_size', 'resize']
    assert params(lh.evaluate_accuracy_gpu) == ['net', 'data_iter', 'device']
    assert params(lh.try_gpu) == ['i']
    assert params(lh.Animator)[:11] == ['xlabel', 'ylabel', 'legend', 'xlim', 'ylim', 'xscale', 'yscale', 'fmts',
                                        'nrows', 'ncols', 'figsize']
    defaults = {k: v.default for k, v in inspect.signature(lh.Animator).parameters.items()}
    assert defaults['fmts'] == ('-', 'm--', 'g-.', 'r:') and defaults['figsize'] == (3.5, 2.5)


def test_a_chapter_style_session_runs_end_to_end(fake_fashion, capsys, monkeypatch):
    root, _ = fake_fashion
    monkeypatch.setenv('LENET_DATA_DIR', str(root))
    train_iter, test_iter = lh.load_data_fashion_mnist(batch_size=2048)  # keyword, as the book writes it
    net = lh.lenet()
    X = torch.rand(size=(1, 1, 28, 28), dtype=torch.float32)
    shapes = []
    for layer in net:
        X = layer(X)
        shapes.append((layer.__class__.__name__, tuple(X.shape)))
    assert shapes[-1] == ('Linear', (1, 10))
    timer, metric = lh.Timer(), lh.Accumulator(2)
    metric.add(lh.accuracy(net(torch.rand(4, 1, 28, 28)), torch.tensor([0, 1, 2, 3])), 4)
    timer.stop()
    assert len(timer.cumsum()) == 1 and metric[1] == 4
    assert 0.0 <= lh.evaluate_accuracy_gpu(net, test_iter) <= 1.0
    lh.train_ch6(net, train_iter, test_iter, 1, 0.9, lh.try_gpu())  # positional, the chapter's shape
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == f'training on {lh.try_gpu()}'  # d2l's opening line
    assert lines[-2].startswith('loss ') and f'examples/sec on {lh.try_gpu()}' in lines[-1]
    assert isinstance(net, nn.Sequential)
