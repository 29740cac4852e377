"""The chapter's training loop, train_ch6, with its small helpers; stoppable, checked and fast."""
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .models import evaluating
from .plotting import Animator
from .timing import Timer


class Accumulator:
    """Sum n running totals."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        """Add one value to each total."""
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        """Set every total back to zero."""
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(y_hat, y):
    """Number of correct predictions (y_hat: scores (B, C) or labels (B,))."""
    if y_hat.dim() > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    return float((y_hat.type(y.dtype) == y).sum())


def try_gpu(i=0):
    """Return CUDA device i if there is one, else Apple's MPS, else the CPU."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f'cuda:{i}')
    mps = getattr(torch.backends, 'mps', None)
    if mps is not None and mps.is_available():
        return torch.device('mps')
    return torch.device('cpu')


def set_seed(seed):
    """Seed Python, NumPy and PyTorch so a CPU run repeats exactly."""
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np
        np.random.seed(seed % 2**32)
    except ImportError:
        pass


def resolve_device(device):
    """Turn None, a name or a torch.device into an available torch.device, else raise ValueError."""
    if device is None:
        return try_gpu()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f'device must be "cpu", "cuda", "cuda:N" or "mps", got {device!r}.') from e
    if dev.type == 'cuda':
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n or n == 0:
            raise ValueError(f'device {device!r} is not available: this machine has {n} CUDA device(s). '
                             f'Use device=try_gpu() to take the best device there is.')
    elif dev.type == 'mps':
        mps = getattr(torch.backends, 'mps', None)
        if mps is None or not mps.is_available():
            raise ValueError(f'device {device!r} is not available on this machine (no Apple MPS). '
                             f'Use device=try_gpu() to take the best device there is.')
    elif dev.type != 'cpu':
        raise ValueError(f'device {device!r} is not supported here; use "cpu", "cuda" or "mps".')
    return dev


def prepare_batch(X, device):
    """Move a batch to the device; on the CPU use channels-last, which roughly halves conv time."""
    X = X.to(device, non_blocking=True)
    if device.type == 'cpu' and X.dim() == 4:
        X = X.contiguous(memory_format=torch.channels_last)
    return X


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """Accuracy of ``net`` on ``data_iter``, in eval mode and without building a graph."""
    if device is None and isinstance(net, nn.Module):
        device = next(iter(net.parameters())).device
    device = torch.device(device or 'cpu')
    correct, total = 0.0, 0
    with evaluating(net), torch.inference_mode():
        for X, y in data_iter:
            if isinstance(X, list):  # BERT-style inputs, as in the book's later chapters
                X = [x.to(device) for x in X]
            else:
                X = prepare_batch(X, device)
            y = y.to(device)
            correct += accuracy(net(X), y)
            total += y.numel()
    return correct / total if total else 0.0


@dataclass
class History:
    """What a training run measured, one entry per finished epoch, plus how it ended."""
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)  # wall time since the start, at each epoch's end
    examples_per_sec: float = 0.0
    device: str = ''
    stopped: str = 'not started'  # 'completed', 'interrupted' or 'diverged'
    message: str = ''

    def to_dict(self):
        return asdict(self)

    def save(self, path):
        """Write the history as JSON."""
        with open(path, 'w') as f:
            json.dump(self.to_dict(), f, indent=1)

    @classmethod
    def load(cls, path):
        """Read a history written by save()."""
        with open(path) as f:
            return cls(**json.load(f))

    def __repr__(self):
        if not self.epoch:
            return f'History(no finished epoch, {self.stopped})'
        return (f'History({len(self.epoch)} epochs, {self.stopped}: loss {self.train_loss[-1]:.3f}, '
                f'train acc {self.train_acc[-1]:.3f}, test acc {self.test_acc[-1]:.3f})')


def _check_train_args(net, num_epochs, lr):
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f'num_epochs must be an integer of at least 1, got {num_epochs!r}.')
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f'lr must be a finite number above 0, got {lr!r} (the chapter uses 0.9).')
    if not isinstance(net, nn.Module):
        raise ValueError(f'net must be a torch.nn.Module, got {type(net).__name__}.')


def _check_output_shape(net, test_iter, device):
    """Run one test batch through the net; its output must be (B, 10) class scores."""
    X, _ = next(iter(test_iter))
    try:
        with evaluating(net), torch.no_grad():
            out = net(prepare_batch(X[:2], device))
    except RuntimeError as e:
        raise ValueError(f'The net cannot take a batch of shape {tuple(X[:2].shape)}: {e}') from e
    if out.dim() != 2 or out.shape[1] != 10:
        raise ValueError(f'The net must output (batch, 10) class scores; for a batch of 2 it gave '
                         f'{tuple(out.shape)}. Make the last layer nn.Linear(..., 10).')


@dataclass
class Progress:
    """One report from train_ch6 to whoever watches the run (a control, the CLI, a test).

    ``kind`` is 'batch' (running figures inside an epoch) or 'epoch' (an epoch just ended and
    ``test_acc`` is set). Epochs and batches are counted from 1; ``batch`` is the number of batches
    finished in this epoch.
    """
    kind: str
    epoch: int
    num_epochs: int
    batch: int
    num_batches: int
    train_loss: float
    train_acc: float
    test_acc: float = None
    examples_per_sec: float = 0.0
    seconds: float = 0.0           # wall time since training started
    history: 'History' = None      # the run's History so far (finished epochs only)

    @property
    def fraction(self):
        """How much of the whole run is done, from 0 to 1."""
        return ((self.epoch - 1) + self.batch / max(self.num_batches, 1)) / max(self.num_epochs, 1)

    @property
    def seconds_left(self):
        """Estimated wall time to the end of the run (None before any batch finished)."""
        f = self.fraction
        return self.seconds * (1 - f) / f if f > 0 else None


REPORT_EVERY = 0.25  # seconds between 'batch' reports to on_progress (each epoch end always reports)


def xavier_init(m):
    """Xavier-uniform weights for Linear and Conv2d layers, as the chapter initialises LeNet."""
    if type(m) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(m.weight)


class _Stopped(Exception):
    """Raised inside train_ch6 when its stop signal is set."""


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device=None, *, init=True, optimizer=None,
              animate=True, progress=True, log_epochs=False, on_progress=None, stop=None):
    """Train a model on a GPU if there is one (else the CPU) and return its History.

    The chapter's recipe: Xavier init, SGD, cross-entropy, running train loss and accuracy, test
    accuracy after each epoch, a live plot and two closing lines. Interrupting the kernel or a loss
    that becomes NaN ends training early: the net keeps its weights and the history so far returns.
    ``init=False`` keeps the current weights; ``optimizer`` replaces SGD(lr).

    The one hook for watchers: ``on_progress(Progress)`` is called about every REPORT_EVERY seconds
    during an epoch and once after each epoch; ``stop`` is anything with ``is_set()`` (a
    threading.Event) checked after every batch: once set, training ends as 'stopped' and keeps its
    weights and finished epochs.
    """
    from tqdm.auto import tqdm
    _check_train_args(net, num_epochs, lr)
    device = resolve_device(device)
    net.to(device)
    if device.type == 'cpu':
        net.to(memory_format=torch.channels_last)
    _check_output_shape(net, test_iter, device)
    if init:
        net.apply(xavier_init)
    history = History(device=str(device), stopped='running')
    optimizer = optimizer or torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    animator = Animator(xlabel='epoch', xlim=[0, num_epochs],  # from 0: the first epoch's points show too
                        legend=['train loss', 'train acc', 'test acc']) if animate else None
    timer, wall, num_batches = Timer(), Timer(), len(train_iter)
    metric = Accumulator(3)  # sum of loss, number of correct predictions, number of examples
    bar = tqdm(total=num_batches, disable=not progress, leave=True)
    epoch, i, seen = 0, -1, 0
    last_report = wall.tik

    def report(kind, test_acc=None):
        if on_progress is not None:
            on_progress(Progress(kind, epoch + 1, num_epochs, i + 1, num_batches, train_l, train_acc,
                                 test_acc, seen / timer.sum() if timer.sum() else 0.0,
                                 time.perf_counter() - wall.tik, history))
    try:
        for epoch in range(num_epochs):
            metric.reset()
            net.train()
            bar.reset(total=num_batches)
            bar.set_description(f'epoch {epoch + 1}/{num_epochs}')
            bar.set_postfix_str('', refresh=False)
            for i, (X, y) in enumerate(train_iter):
                timer.start()
                X, y = prepare_batch(X, device), y.to(device)
                optimizer.zero_grad(set_to_none=True)
                y_hat = net(X)
                l = loss(y_hat, y)
                l.backward()
                optimizer.step()
                l_value = l.item()
                if not math.isfinite(l_value):
                    raise FloatingPointError(l_value)
                with torch.no_grad():
                    metric.add(l_value * y.numel(), accuracy(y_hat, y), y.numel())
                timer.stop()
                seen += y.numel()
                train_l, train_acc = metric[0] / metric[2], metric[1] / metric[2]
                bar.update()
                if (i + 1) % 20 == 0:
                    bar.set_postfix(loss=f'{train_l:.3f}', acc=f'{train_acc:.3f}', refresh=False)
                if animator and ((i + 1) % (num_batches // 5 or 1) == 0 or i == num_batches - 1):
                    animator.add(epoch + (i + 1) / num_batches, (train_l, train_acc, None))
                if on_progress is not None and timer.tik - last_report >= REPORT_EVERY:
                    last_report = timer.tik
                    report('batch')
                if stop is not None and stop.is_set():
                    raise _Stopped()
            test_acc = evaluate_accuracy_gpu(net, test_iter, device)
            for key, value in (('epoch', epoch + 1), ('train_loss', train_l), ('train_acc', train_acc),
                               ('test_acc', test_acc), ('seconds', wall.stop())):
                getattr(history, key).append(value)
            if animator:
                animator.add(epoch + 1, (None, None, test_acc))
            report('epoch', test_acc)
            if log_epochs:
                tqdm.write(f'epoch {epoch + 1}/{num_epochs}: loss {train_l:.3f}, train acc {train_acc:.3f},'
                           f' test acc {test_acc:.3f}, {history.seconds[-1]:.1f} s')
        history.stopped = 'completed'
    except _Stopped:
        history.stopped = 'stopped'
        history.message = (f'Training stopped in epoch {epoch + 1}, batch {i + 1} of {num_batches}. The '
                           f'model keeps the weights it has learned so far; the history holds the '
                           f'{len(history.epoch)} finished epoch(s).')
    except KeyboardInterrupt:
        history.stopped = 'interrupted'
        history.message = (f'Training interrupted in epoch {epoch + 1}, batch {i + 1} of '
                           f'{num_batches}. The model keeps the weights it has learned so far; the '
                           f'history holds the {len(history.epoch)} finished epoch(s).')
    except FloatingPointError as e:
        history.stopped = 'diverged'
        history.message = (f'The loss became {e} in epoch {epoch + 1}, batch {i + 1}: training diverged '
                           f'and was stopped. The learning rate {lr} is probably too high for this '
                           f'network and activation (ReLU nets often need lr 0.1 or less where the '
                           f'sigmoid LeNet takes 0.9). Lower lr and train again (the weights are now '
                           f'broken: rebuild the net or keep init=True).')
    finally:
        bar.close()
        if animator:
            animator.draw()
        history.examples_per_sec = seen / timer.sum() if timer.sum() else 0.0
    if history.message:
        print(history.message)
    if history.epoch:
        print(f'loss {history.train_loss[-1]:.3f}, train acc {history.train_acc[-1]:.3f}, '
              f'test acc {history.test_acc[-1]:.3f}')
        print(f'{history.examples_per_sec:.1f} examples/sec on {device}')
    return history
