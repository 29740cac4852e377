"""The chapter's training loop, train_ch6, with its small helpers; stoppable, checked and fast."""
import math
import random
import time
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .memory import keep_freed_memory, release_freed_memory
from .models import evaluating
from .plotting import Animator
from .timing import Timer


class Accumulator:
    """Sum n running totals; tensors stay where they are (a GPU) until a total is read, so adding never waits."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        """Add one value to each total (numbers or tensors)."""
        self.data = [a + (b.detach() if isinstance(b, torch.Tensor) else b) for a, b in zip(self.data, args)]

    def reset(self):
        """Set every total back to zero."""
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return float(self.data[idx])


def count_correct(y_hat, y):
    """Number of correct predictions as a tensor on y's device (y_hat: scores (B, C) or labels (B,))."""
    if y_hat.dim() > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    return (y_hat.type(y.dtype) == y).sum()


def accuracy(y_hat, y):
    """Number of correct predictions (y_hat: scores (B, C) or labels (B,))."""
    return float(count_correct(y_hat, y))


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


def _check_scores(y_hat, y):
    """Raise ValueError unless y_hat holds one row of class scores (two or more) per label in y."""
    if y_hat.dim() != 2 or y_hat.shape[0] != y.shape[0] or y_hat.shape[1] < 2:
        raise ValueError(f'The net gave outputs of shape {tuple(y_hat.shape)} for {y.shape[0]} labels; accuracy '
                         f'needs class scores of shape ({y.shape[0]}, number of classes), one column per class '
                         f'(LeNet: 10). Make the last layer nn.Linear(..., 10).')


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """Accuracy of ``net`` on ``data_iter``, in eval mode and without building a graph."""
    if device is None and isinstance(net, nn.Module):
        param = next(iter(net.parameters()), None)
        device = param.device if param is not None else None
    device = torch.device(device or 'cpu')
    correct, total = 0, 0
    with evaluating(net), torch.inference_mode():
        for X, y in data_iter:
            if isinstance(X, list):  # BERT-style inputs, as in the book's later chapters
                X = [x.to(device) for x in X]
            else:
                X = prepare_batch(X, device)
            y = y.to(device)
            y_hat = net(X)
            _check_scores(y_hat, y)
            correct += count_correct(y_hat, y)  # stays on the device: one sync at the end, not one per batch
            total += y.numel()
    if total == 0:
        raise ValueError('evaluate_accuracy_gpu got no examples: data_iter is empty. Pass the test iterator '
                         'from load_data_fashion_mnist (or a non-empty list of (X, y) batches).')
    return float(correct) / total


SCHEMA = 2  # History file format; 1 (no schema field) had no settings, threads or version
_LISTS = ('epoch', 'train_loss', 'train_acc', 'test_acc', 'seconds')


@dataclass
class History:
    """What a training run measured, one entry per finished epoch, plus how it ended and what made it."""
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)  # wall time since the start, at each epoch's end
    examples_per_sec: float = 0.0
    device: str = ''
    stopped: str = 'not started'  # 'completed', 'stopped', 'interrupted', 'diverged' or 'failed'
    message: str = ''
    threads: int = 0              # CPU threads trained with (the last choice); 0 when not recorded
    settings: dict = field(default_factory=dict)  # model, lr, epochs, batch_size, data, optimizer, seed ...
    version: str = ''             # the lenet_helpers version that trained
    schema: int = SCHEMA          # file format version

    def to_dict(self):
        return asdict(self)

    def save(self, path):
        """Write the history as JSON, atomically: a failed save leaves any old file whole."""
        from .files import atomic_write_json, check_writable_file
        check_writable_file(path, 'history')
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, d, source='the history'):
        """Build a History from to_dict()'s output (old files without the newer fields too), else ValueError."""
        if not isinstance(d, dict):
            raise ValueError(f'{source} is not a training history: it holds a JSON {type(d).__name__}, '
                             f'not the object History.save writes.')
        missing = [k for k in (*_LISTS[:4], 'stopped') if k not in d]
        if missing:
            raise ValueError(f'{source} is not a training history: it lacks {", ".join(missing)}. '
                             f'Load a history.json written by History.save or the train command.')
        schema = d.get('schema', 1)
        if not isinstance(schema, int) or schema > SCHEMA:
            raise ValueError(f'{source} was written in history format {schema!r}, newer than this '
                             f'lenet_helpers ({SCHEMA}) reads: update lenet_helpers.')
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for key in _LISTS:
            value = known.get(key, [])
            if not isinstance(value, list) or not all(v is None or isinstance(v, (int, float))
                                                      and not isinstance(v, bool) for v in value):
                raise ValueError(f'{source} is damaged: {key} should be a list of numbers, got {value!r:.80}.')
        if not isinstance(known['stopped'], str) or not isinstance(known.get('settings', {}), dict):
            raise ValueError(f'{source} is damaged: stopped should be text and settings an object.')
        known['schema'] = schema
        return cls(**known)

    @classmethod
    def load(cls, path):
        """Read a history written by save(); a missing, truncated, binary or foreign file raises ValueError."""
        from .files import read_json
        return cls.from_dict(read_json(path, 'history', 'History.save'), source=f'The file {path}')

    def __repr__(self):
        if not self.epoch:
            return f'History(no finished epoch, {self.stopped})'
        return (f'History({len(self.epoch)} epochs, {self.stopped}: loss {self.train_loss[-1]:.3f}, '
                f'train acc {self.train_acc[-1]:.3f}, test acc {self.test_acc[-1]:.3f})')


def _check_train_args(net, num_epochs, lr, settings):
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f'num_epochs must be an integer of at least 1, got {num_epochs!r}.')
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f'lr must be a finite number above 0, got {lr!r} (the chapter uses 0.9).')
    if not isinstance(net, nn.Module):
        raise ValueError(f'net must be a torch.nn.Module, got {type(net).__name__}.')
    if settings is not None:
        from .files import json_safe
        if not isinstance(settings, dict):
            raise ValueError(f'settings must be a dict of what made the run, got {type(settings).__name__}.')
        try:
            json_safe(settings)
        except TypeError as e:
            raise ValueError(f'settings must hold values a JSON file can store: {e}') from None


def _check_iterator(it, name):
    """An iterator train_ch6 can use: re-iterable, with a len(), not empty."""
    if hasattr(it, '__next__'):
        raise ValueError(f'{name} is a one-pass iterator (a generator?): it would be used up after the first '
                         f'epoch. Pass something that can be iterated again: a list of (X, y) batches, a '
                         f'DataLoader, or the iterators of load_data_fashion_mnist.')
    try:
        n = len(it)
    except TypeError:
        raise ValueError(f'{name} has no len(), so the progress and the epochs cannot be counted. Pass a list '
                         f'of (X, y) batches, a DataLoader, or the iterators of load_data_fashion_mnist.') from None
    if n == 0:
        raise ValueError(f'{name} is empty: it holds no batches. Check the data set and its size '
                         f'(n_train/n_test) and batch_size.')
    return n


def _first_batch(it, name):
    try:
        return next(iter(it))
    except StopIteration:
        raise ValueError(f'{name} is empty: it gave no batch.') from None


def _check_labels(labels, name, num_classes):
    """Labels must be int64 class indices in 0..num_classes-1."""
    if not isinstance(labels, torch.Tensor):
        raise ValueError(f'{name} gives labels of type {type(labels).__name__}; they must be a tensor of '
                         f'integer class indices (torch.int64).')
    if labels.dtype != torch.int64:
        raise ValueError(f'{name} gives labels of dtype {labels.dtype}; the loss needs class indices of dtype '
                         f'torch.int64 (torch.long). Convert them with labels.long().')
    if labels.numel():
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(f'{name} holds the label {bad}, but the net has {num_classes} outputs, so labels '
                             f'must lie in 0 to {num_classes - 1}. Check the data set, or the width of the '
                             f'last layer.')


def _check_data(net, train_iter, test_iter, device):
    """Before any work: both iterators usable, the net's output (B, 10) scores, labels valid. Returns num_batches."""
    num_batches = _check_iterator(train_iter, 'train_iter')
    _check_iterator(test_iter, 'test_iter')
    X, y = _first_batch(test_iter, 'test_iter')
    try:
        with evaluating(net), torch.no_grad():
            out = net(prepare_batch(X[:2], device))
    except RuntimeError as e:
        raise ValueError(f'The net cannot take a batch of shape {tuple(X[:2].shape)}: {e}') from e
    if out.dim() != 2 or out.shape[1] != 10:
        raise ValueError(f'The net must output (batch, 10) class scores; for a batch of 2 it gave '
                         f'{tuple(out.shape)}. Make the last layer nn.Linear(..., 10).')
    for it, name, first in ((test_iter, 'test_iter', y), (train_iter, 'train_iter', None)):
        labels = getattr(it, 'labels', None)  # ImageBatches: check them all, without drawing a batch
        if not isinstance(labels, torch.Tensor):
            labels = first if first is not None else _first_batch(it, name)[1]
        _check_labels(labels, name, out.shape[1])
    return num_batches


def _to_device(it, device):
    """ImageBatches are copied to a GPU once, so every batch is cut and converted there."""
    from .data import ImageBatches
    if isinstance(it, ImageBatches) and device.type != 'cpu' and it.images.device.type != device.type:
        return it.to(device)
    return it


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


REPORT_EVERY = 0.25  # seconds between reporting points inside an epoch (each epoch end is one too)
BAR_EVERY = 1.0      # seconds between progress-bar redraws: each one is a widget message the page must handle
DIVERGED_LOSS = 10 * math.log(10)  # a running loss above this is far worse than an untrained net's ln 10 = 2.30


def xavier_init(m):
    """Xavier-uniform weights for Linear and Conv2d layers, as the chapter initialises LeNet."""
    if type(m) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(m.weight)


class _Stopped(Exception):
    """Raised inside train_ch6 when its stop signal is set."""


class _Diverged(Exception):
    """Raised inside train_ch6 when the running loss is not finite or far above an untrained net's."""


def _recorded_settings(net, train_iter, num_epochs, lr, optimizer, init, amp, settings):
    source = getattr(train_iter, 'source', None)
    if source is None and hasattr(train_iter, 'dataset'):
        source = type(train_iter.dataset).__name__
    recorded = {'model': getattr(net, 'name', None) or type(net).__name__, 'lr': lr, 'epochs': num_epochs,
                'batch_size': getattr(train_iter, 'batch_size', None),
                'examples': getattr(train_iter, 'num_examples', None),
                'data': str(source) if source is not None else None,
                'optimizer': type(optimizer).__name__ if optimizer is not None else 'SGD',
                'init': 'xavier' if init else 'kept', 'amp': amp}
    recorded.update(settings or {})
    return recorded


def _closing_line(history, device, tuner, threads):
    line = f'{history.examples_per_sec:.1f} examples/sec on {device}'
    if device.type != 'cpu':
        return line
    plural = 's' if history.threads != 1 else ''
    if threads is not None:
        how = 'set by threads='
    elif tuner is not None and len(tuner.candidates) > 1:
        tried = ', '.join(map(str, tuner.candidates))
        how = f'the fastest measured of {tried}' if tuner.trials else f'too few batches to measure {tried}'
    else:
        how = 'all this machine allows'
    return f'{line}, {history.threads} thread{plural} ({how})'


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device=None, *, init=True, optimizer=None,
              animate=True, progress=True, log_epochs=False, on_progress=None, stop=None, threads=None,
              amp=False, settings=None):
    """Train a model on a GPU if there is one (else the CPU) and return its History.

    The chapter's recipe: Xavier init, SGD, cross-entropy, running train loss and accuracy, test
    accuracy after each epoch, a live plot and closing lines. ``init=False`` keeps the current
    weights; ``optimizer`` replaces SGD(lr). Bad arguments or data raise ValueError before any work.

    The running loss and accuracy are summed on the device and read only at reporting points (about
    every REPORT_EVERY seconds and at each epoch's end), so a step never waits for the host. The
    divergence check runs there too: a loss that is not finite, or a running loss above DIVERGED_LOSS,
    ends the run as 'diverged'. Interrupting the kernel ends it as 'interrupted', an exception in the
    net or a watcher as 'failed'; in each case the net keeps its weights and the history so far returns.

    The one hook for watchers: ``on_progress(Progress)`` is called about every REPORT_EVERY seconds
    during an epoch and once after each epoch; ``stop`` is anything with ``is_set()`` (a
    threading.Event) checked after every batch: once set, training ends as 'stopped' and keeps its
    weights and finished epochs.

    ``threads``: CPU threads; None measures the candidates allowed by the machine's CPU quota during
    the first epoch and keeps the fastest (re-checked now and then). torch's setting is restored
    afterwards. On the CPU, freed buffers are kept for reuse during the run (memory.keep_freed_memory) and
    given back at its end. ``amp=True`` trains in mixed precision (bf16 on the CPU, fp16 with loss scaling on
    CUDA); off by default, the chapter is fp32. ``settings`` (a dict: model name, seed, ...) is
    recorded in History.settings next to what train_ch6 knows itself.
    """
    from tqdm.auto import tqdm

    from . import __version__
    from .threads import ThreadTuner, available_cpus, candidate_threads, check_threads
    _check_train_args(net, num_epochs, lr, settings)
    threads = check_threads(threads)
    device = resolve_device(device)
    net.to(device)
    if device.type == 'cpu':
        net.to(memory_format=torch.channels_last)
    num_batches = _check_data(net, train_iter, test_iter, device)
    if init:
        net.apply(xavier_init)
    print(f'training on {device}')
    history = History(device=str(device), stopped='running', version=__version__,
                      settings=_recorded_settings(net, train_iter, num_epochs, lr, optimizer, init, amp, settings))
    train_iter, test_iter = _to_device(train_iter, device), _to_device(test_iter, device)
    optimizer = optimizer or torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    # Mixed precision (amp=True) only: with amp=False autocast and the scaler do nothing.
    amp_dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16
    scaler = torch.amp.GradScaler('cuda', enabled=amp and device.type == 'cuda')
    if device.type == 'cpu':
        keep_freed_memory()  # reuse the step's buffers instead of faulting in fresh pages (memory.py)
    old_threads, tuner = torch.get_num_threads(), None
    if threads is not None:
        torch.set_num_threads(threads)
    elif device.type == 'cpu':
        tuner = ThreadTuner(candidate_threads(available_cpus()))
    else:
        torch.set_num_threads(min(old_threads, available_cpus()))
    animator = Animator(xlabel='epoch', xlim=[0, num_epochs],  # from 0: the first epoch's points show too
                        legend=['train loss', 'train acc', 'test acc']) if animate else None
    plot_every = num_batches // 5 or 1
    timer, wall = Timer(), Timer()
    metric = Accumulator(3)  # sum of loss, number of correct predictions, number of examples
    bar = tqdm(total=num_batches, disable=not progress, leave=True, mininterval=BAR_EVERY)
    epoch, i, seen = 0, -1, 0
    train_l = train_acc = float('nan')
    last_report = wall.tik

    def read_metrics():
        """A reporting point: bring the running figures to the host and check for divergence."""
        nonlocal train_l, train_acc
        queued = device.type != 'cpu'  # on a GPU the read waits for the queued steps: time that wait with them
        if queued:
            timer.start()
        train_l, train_acc = metric[0] / metric[2], metric[1] / metric[2]
        if queued:
            timer.stop()
        if not train_l < DIVERGED_LOSS:  # NaN fails this comparison too
            raise _Diverged(train_l)

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
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
                    y_hat = net(X)
                    l = loss(y_hat, y)
                scaler.scale(l).backward()  # with amp off: l.backward()
                scaler.step(optimizer)      # with amp off: optimizer.step()
                scaler.update()
                with torch.no_grad():
                    metric.add(l * y.numel(), count_correct(y_hat, y), y.numel())  # no host sync here
                timer.stop()
                if tuner is not None:
                    tuner.record(timer.times[-1], y.numel())  # tries thread counts, keeps the fastest
                seen += y.numel()
                bar.update()
                now, plot_point = time.perf_counter(), animator and (i + 1) % plot_every == 0
                if now - last_report >= REPORT_EVERY or plot_point:
                    last_report = now
                    read_metrics()
                    bar.set_postfix(loss=f'{train_l:.3f}', acc=f'{train_acc:.3f}', refresh=False)
                    if plot_point:
                        animator.add(epoch + (i + 1) / num_batches, (train_l, train_acc, None))
                    report('batch')
                if stop is not None and stop.is_set():
                    raise _Stopped()
            read_metrics()
            test_acc = evaluate_accuracy_gpu(net, test_iter, device)
            for key, value in (('epoch', epoch + 1), ('train_loss', train_l), ('train_acc', train_acc),
                               ('test_acc', test_acc), ('seconds', wall.stop())):
                getattr(history, key).append(value)
            if animator:
                if num_batches % plot_every:  # the epoch's last training point, when not plotted above
                    animator.add(epoch + 1, (train_l, train_acc, None))
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
    except _Diverged as e:
        value = e.args[0]
        what = (f'became {value}' if not math.isfinite(value) else
                f'rose to {value:.3g}, far above the {math.log(10):.2f} of an untrained net,')
        history.stopped = 'diverged'
        history.message = (f'The loss {what} in epoch {epoch + 1} (seen by batch {i + 1} of {num_batches}): '
                           f'training diverged and was stopped. The learning rate {lr:g} is probably too high '
                           f'for this network and activation (ReLU nets often need lr 0.1 or less where the '
                           f'sigmoid LeNet takes 0.9). Lower lr and train again (the weights are now '
                           f'broken: rebuild the net or keep init=True).')
    except Exception as e:  # a layer that fails on some batch, out of memory, a watcher's bug
        history.stopped = 'failed'
        history.message = (f'Training failed in epoch {epoch + 1}, batch {i + 1} of {num_batches} with '
                           f'{type(e).__name__}: {e}. The model keeps the weights it had; the history holds '
                           f'the {len(history.epoch)} finished epoch(s).')
    finally:
        bar.close()
        if animator:
            animator.draw()
        history.examples_per_sec = seen / timer.sum() if timer.sum() else 0.0
        history.threads = tuner.chosen if tuner is not None else torch.get_num_threads()
        torch.set_num_threads(old_threads)
        if device.type == 'cpu':
            release_freed_memory()
    if history.message:
        print(history.message)
    if history.epoch:
        print(f'loss {history.train_loss[-1]:.3f}, train acc {history.train_acc[-1]:.3f}, '
              f'test acc {history.test_acc[-1]:.3f}')
    if seen:
        print(_closing_line(history, device, tuner, threads))
    return history
