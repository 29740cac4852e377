"""What the layers of a trained net output, on shared, labelled colour scales (notebooks 05 and 08), and
checkpoints that keep a run's weights, its record and its snapshots."""
import base64
import copy
import io
import os
import pickle
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import matplotlib.pyplot as plt
import torch
from torch import nn

from .data import FASHION_MNIST_CLASSES
from .files import check_writable_file, json_safe
from .models import evaluating
from .snapshots import Snapshots, copy_state
from .training import History

POOL_TYPES = (nn.AvgPool2d, nn.MaxPool2d)

# The visual language, in one place (to become `from .style import ...` once lenet_helpers/style.py lands).
IMAGE_CMAP = 'gray_r'   # input images: dark ink on white, as notebook 03 shows them (0 white, 1 black)
MAP_CMAP = 'viridis'    # unsigned activations (sigmoid, ReLU): colour-blind-safe, dark = weak, light = strong
SIGNED_CMAP = 'RdBu_r'  # signed values (kernels, tanh): colour-blind-safe diverging, white = 0, red +, blue -
FONT_PT = 9             # the smallest text in a figure, in points at the displayed size
DPI = 96                # figures are drawn at 96 dpi and shown 1:1, so 1 pt in the figure = 1 pt on screen


CHECKPOINT_FORMAT = 'lenet_helpers checkpoint'  # marks files written by save_checkpoint
CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: damaged, foreign, or for another network."""


@dataclass
class Checkpoint:
    """What save_checkpoint stores: the weights, how the run ended, and the per-epoch snapshots."""
    path: Path
    state: dict                                   # the net's state_dict after training
    history: History = None                       # None for files saved without one (older versions)
    states: list = field(default_factory=list)   # snapshots: the weights after epoch 0, 1, ... (may be empty)

    @property
    def completed(self):
        """True when the run that made the checkpoint finished all its epochs."""
        return self.history is not None and self.history.stopped == 'completed'


def save_checkpoint(net, path, history=None, snapshots=None):
    """Save a net's weights, its run's History and its Snapshots to path, atomically; returns the path.

    Only tensors, numbers, strings, lists and dicts go in, so load_checkpoint can read the file with
    torch.load(..., weights_only=True). The file is written to a temporary file in the same folder and
    then renamed, so a failure part-way leaves any older checkpoint intact.
    """
    path = check_writable_file(path, 'checkpoint')
    if snapshots is not None and not isinstance(snapshots, (list, tuple)):
        snapshots = snapshots.states
    record = {'format': CHECKPOINT_FORMAT, 'version': CHECKPOINT_VERSION,
              'state_dict': copy_state(net),
              'history': json_safe(history.to_dict()) if history is not None else None,
              'snapshots': [dict(s) for s in snapshots or []]}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(record, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _history_from(record, path):
    if record is None:
        return None
    if not isinstance(record, dict):
        raise CheckpointError(f'{path} has a damaged run record. Delete it to train again.')
    known = {f.name for f in fields(History)}
    return History(**{k: v for k, v in record.items() if k in known})


def read_checkpoint(path):
    """Read a checkpoint written by save_checkpoint (tensors only: weights_only=True) into a Checkpoint.

    A missing, empty, truncated or foreign file raises CheckpointError naming the file and what to do.
    A plain state_dict (what older versions saved) is accepted, with no history and no snapshots.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'There is no checkpoint at {path}. Train the net first, or check the name.')
    if path.stat().st_size == 0:
        raise CheckpointError(f'The checkpoint {path} is empty (a save was cut off). Delete it to train again.')
    try:
        record = torch.load(path, map_location='cpu', weights_only=True)
    except PermissionError as e:
        raise CheckpointError(f'The checkpoint {path} cannot be read: permission denied. '
                              f'Check the file\'s permissions.') from e
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, ValueError, TypeError,
            AttributeError, ImportError, KeyError, IndexError) as e:
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise CheckpointError(f'{path} is not a readable checkpoint: it is damaged (for example cut off '
                              f'while saving) or is not a PyTorch weights file ({first}). '
                              f'Delete it to train again.') from e
    if isinstance(record, dict) and record.get('format') == CHECKPOINT_FORMAT:
        if record.get('version') != CHECKPOINT_VERSION or not isinstance(record.get('state_dict'), dict):
            raise CheckpointError(f'{path} was saved by another version of lenet_helpers '
                                  f'(checkpoint version {record.get("version")!r}, this one reads '
                                  f'{CHECKPOINT_VERSION}). Delete it to train again.')
        states = record.get('snapshots') or []
        if not isinstance(states, list) or not all(isinstance(s, dict) for s in states):
            raise CheckpointError(f'{path} has damaged snapshots. Delete it to train again.')
        return Checkpoint(path, record['state_dict'], _history_from(record.get('history'), path), states)
    if isinstance(record, dict) and record and all(isinstance(k, str) and torch.is_tensor(v)
                                                   for k, v in record.items()):
        return Checkpoint(path, record)  # a bare state_dict, as older versions saved
    raise CheckpointError(f'{path} is a PyTorch file but not a checkpoint of a net (it holds a '
                          f'{type(record).__name__}). Delete or rename it to train again.')


def check_fits(net, state, path):
    """Raise CheckpointError when the weights in state are not for net's architecture."""
    mine = net.state_dict()
    missing, extra = sorted(set(mine) - set(state)), sorted(set(state) - set(mine))
    if missing or extra:
        names = ', '.join((missing or extra)[:3])
        raise CheckpointError(f'{path} holds the weights of another network: '
                              f'{"it lacks" if missing else "this net has no"} {names}. Delete or rename '
                              f'the file to train again, or build the net it was saved from.')
    for k, v in mine.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise CheckpointError(f'{path} holds the weights of another network: {k} has shape '
                                  f'{tuple(state[k].shape)} there and {tuple(v.shape)} here. Delete or '
                                  f'rename the file to train again, or build the net it was saved from.')


def load_checkpoint(net, path):
    """Load the weights saved by save_checkpoint into net (weights_only=True) and return net, in eval mode.

    Raises CheckpointError, with the file's name and what to do, for a damaged or foreign file or one
    saved from another architecture.
    """
    checkpoint = read_checkpoint(path)
    check_fits(net, checkpoint.state, checkpoint.path)
    net.load_state_dict(checkpoint.state)
    return net.eval()


def checkpoint_path(name, folder='checkpoints'):
    """Where a notebook keeps its trained net: folder/name.pt; under LENET_CHECKPOINT_DIR when that is set
    (make test sets it), and in quick mode a new temporary folder, so the automatic tests never touch (or
    reuse) a student's saved run."""
    from . import quick_mode
    if os.environ.get('LENET_CHECKPOINT_DIR'):
        folder = os.environ['LENET_CHECKPOINT_DIR']
    elif quick_mode():
        folder = tempfile.mkdtemp(prefix='lenet_quick_')
    return Path(folder) / f'{name}.pt'


def load_trained(net, path, **expected):
    """Reuse a completed run's checkpoint: load it into net and return (History, Snapshots), else None.

    ``expected`` names settings the run must have had, as train_ch6 records them (e.g. ``epochs=10,
    lr=0.9, examples=60000``, and ``recipe=`` as controlled_run records it), so a run saved by another
    notebook is reused only if it is the same run.
    Says why it does not reuse a file: none there yet, a run that did not complete (stopped,
    interrupted, diverged, or saved without a record), or one with other settings; then checks the file
    can be written, so training does not start for nothing. A damaged, foreign or other-architecture file raises CheckpointError
    before any training starts, so nothing is overwritten by accident.
    """
    path = Path(path)
    if not path.exists():
        check_writable_file(path, 'checkpoint')
        print(f'No saved run at {path} yet: training one.')
        return None
    checkpoint = read_checkpoint(path)
    check_fits(net, checkpoint.state, path)
    for state in checkpoint.states:
        check_fits(net, state, path)
    if not checkpoint.completed:
        why = (f'ended as {checkpoint.history.stopped!r} after {len(checkpoint.history.epoch)} epoch(s)'
               if checkpoint.history else 'has no record of how its run ended (an older version saved it)')
    else:
        settings = checkpoint.history.settings or {}
        # A run saved without its recipe in words (train_ch6 called directly, as notebook 04 does) is taken
        # to have the one asked for; every other setting must be recorded and equal.
        differ = [f'{k} {settings.get(k)!r} instead of {v!r}' for k, v in expected.items()
                  if settings.get(k, v if k == 'recipe' else None) != v]
        why = f'had other settings ({", ".join(differ)})' if differ else None
    if why:
        check_writable_file(path, 'checkpoint')
        print(f'The run saved at {path} {why}: it is not reused. Training again; the new run replaces it.')
        return None
    net.load_state_dict(checkpoint.state)
    net.eval()
    print(f'Loaded the trained net from {path} ({checkpoint.history.stopped} run of '
          f'{len(checkpoint.history.epoch)} epochs; delete the file to train again).')
    return checkpoint.history, Snapshots.from_states(net, checkpoint.states)


def pick_example(data_iter, class_name, index=0, classes=FASHION_MNIST_CLASSES):
    """The index-th image of a class in an ImageBatches iterator, as a (1, 1, 28, 28) float tensor in [0, 1]."""
    if class_name not in classes:
        raise ValueError(f'class must be one of {", ".join(classes)}, got {class_name!r}.')
    where = (data_iter.labels == classes.index(class_name)).nonzero().flatten()
    if not 0 <= index < len(where):
        raise ValueError(f'there are {len(where)} images of class {class_name!r}; pick an index from 0 to '
                         f'{len(where) - 1}.')
    return data_iter.images[where[index]].float().div(255).reshape(1, 1, 28, 28)


def block_outputs(net, X):
    """Run X through net and return the output of every conv block: after each pooling layer, or after the
    activation that follows each conv layer when the net does not pool. X goes to the net's device (a GPU
    if it trained there); the outputs come back on the CPU, ready to plot."""
    outputs, pooled, pending = [], any(isinstance(m, POOL_TYPES) for m in net), False
    X = X.to(next((p.device for p in net.parameters()), X.device))
    with evaluating(net), torch.no_grad():
        for layer in net:
            X = layer(X)
            if isinstance(layer, nn.Conv2d):
                pending = True
            elif pending and (isinstance(layer, POOL_TYPES) if pooled else
                              not isinstance(layer, (nn.BatchNorm2d, nn.Dropout))):
                outputs.append(X.contiguous().cpu())
                pending = False
            if isinstance(layer, nn.Flatten):
                break
    return outputs


def _grid(n):
    """Rows and columns for n small panels: 6 -> 2x3, 16 -> 4x4."""
    cols = {1: 1, 2: 2, 3: 3, 4: 2, 6: 3, 8: 4, 16: 4, 32: 8, 64: 8}.get(n, int(n ** 0.5 + 0.999))
    return (n + cols - 1) // cols, cols


def plot_block_maps(rows, blocks=(0, 1), block_names=None, cmap=MAP_CMAP, panel=0.75):
    """Draw rows of (label, image, block outputs): the input, then every channel of the chosen blocks.

    Each block has ONE colour scale shared by all rows (so two inputs compare fairly), with a labelled
    colour bar; the input is drawn dark on white, from 0 (white) to 1 (black). Channels count from 1.
    Returns the figure.
    """
    block_names = block_names or [f'block {b + 1}' for b in blocks]
    limits = []
    for b in blocks:
        values = torch.cat([outs[b].flatten() for _, _, outs in rows])
        limits.append((float(values.min()), float(values.max())))
    shapes = [_grid(rows[0][2][b].shape[1]) for b in blocks]
    tall, n, cb = max(r for r, _ in shapes), len(rows), 0.35
    width = panel * (2.6 + sum(c + 0.6 for _, c in shapes))
    fig = plt.figure(figsize=(width, panel * (tall * n + cb) + 1.1), dpi=DPI)
    subs = fig.subfigures(1, 1 + len(blocks), width_ratios=[2.6] + [c + 0.6 for _, c in shapes], wspace=0.02)
    gs = subs[0].add_gridspec(n + 1, 1, height_ratios=[tall] * n + [cb], hspace=0.45)
    for i, (label, image, _) in enumerate(rows):
        ax = subs[0].add_subplot(gs[i, 0])
        ax.imshow(image.reshape(28, 28).numpy(), cmap=IMAGE_CMAP, vmin=0, vmax=1)
        ax.set_title(label, fontsize=FONT_PT)
        ax.set_xticks([]), ax.set_yticks([])
    ax.set_xlabel('input, from\n0 (white) to 1 (black)', fontsize=FONT_PT)
    for sub, b, name, (vmin, vmax), (nr, nc) in zip(subs[1:], blocks, block_names, limits, shapes):
        gs = sub.add_gridspec(n * nr + 1, nc, height_ratios=[tall / nr] * (n * nr) + [cb], hspace=0.35, wspace=0.08)
        for i, (label, _, outs) in enumerate(rows):
            maps = outs[b][0]
            for c in range(nr * nc):
                ax = sub.add_subplot(gs[i * nr + c // nc, c % nc])
                ax.set_xticks([]), ax.set_yticks([])
                if c < len(maps):
                    im = ax.imshow(maps[c].numpy(), cmap=cmap, vmin=vmin, vmax=vmax)
                    ax.set_title(f'ch {c + 1}', fontsize=FONT_PT, pad=1)
                else:
                    ax.axis('off')
                if c % nc == 0 and c // nc == 0:
                    ax.set_ylabel(label.split('\n')[0], fontsize=FONT_PT)
        sub.suptitle(f'{name}: {maps.shape[0]} maps of {maps.shape[1]}x{maps.shape[2]}', fontsize=FONT_PT + 1)
        bar = sub.colorbar(im, cax=sub.add_subplot(gs[-1, :]), orientation='horizontal')
        bar.set_label(f'{name} output,\none scale for both rows', fontsize=FONT_PT)
        bar.ax.tick_params(labelsize=FONT_PT)
    return fig


def plot_kernels(net, cmap=SIGNED_CMAP):
    """Draw the first conv layer's kernels on one symmetric colour scale (red positive, blue negative)."""
    conv = next(m for m in net if isinstance(m, nn.Conv2d))
    w = conv.weight.detach().float().cpu()[:, 0]  # from a GPU too
    v = float(w.abs().max())
    nr, nc = _grid(len(w))
    fig, axes = plt.subplots(nr, nc, figsize=(1.2 * nc + 1.0, 1.2 * nr + 0.5), dpi=DPI, squeeze=False)
    for c, ax in enumerate(axes.flat):
        ax.set_xticks([]), ax.set_yticks([])
        if c < len(w):
            im = ax.imshow(w[c].numpy(), cmap=cmap, vmin=-v, vmax=v)
            ax.set_title(f'kernel {c + 1}', fontsize=FONT_PT)
        else:
            ax.axis('off')
    bar = fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.05)
    bar.set_label('weight', fontsize=FONT_PT)
    bar.ax.tick_params(labelsize=FONT_PT)
    fig.suptitle(f'first conv layer: {len(w)} kernels of {w.shape[1]}x{w.shape[2]}', fontsize=FONT_PT + 1)
    return fig


def class_mean_activations(net, data_iter, block=0, num_classes=10):
    """Average activation of each channel of one conv block, per class: a tensor (num_classes, channels)."""
    sums, counts = None, torch.zeros(num_classes)
    for X, y in data_iter:
        out = block_outputs(net, X)[block].mean(dim=(2, 3))  # one number per image and channel
        if sums is None:
            sums = torch.zeros(num_classes, out.shape[1])
        sums.index_add_(0, y, out)
        counts += torch.bincount(y, minlength=num_classes).float()
    return sums / counts.clamp(min=1).unsqueeze(1)


def plot_class_means(means, pair=('Pullover', 'Coat'), classes=FASHION_MNIST_CLASSES, title='block 1'):
    """A heat map of class x channel mean activations, and the difference between two classes per channel.

    Channels are numbered from 1; the bars are coloured and hatched by sign (readable without colour).
    """
    a, b = classes.index(pair[0]), classes.index(pair[1])
    means = means.detach().numpy()
    diff = means[a] - means[b]
    channels = range(1, means.shape[1] + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(860 / DPI, 300 / DPI), dpi=DPI, width_ratios=[1.4, 1])
    im = ax1.imshow(means, cmap=MAP_CMAP, aspect='auto', extent=(0.5, means.shape[1] + 0.5, len(classes) - 0.5, -0.5))
    ax1.set_yticks(range(len(classes)), classes, fontsize=FONT_PT)
    step = 1 if means.shape[1] <= 16 else 4
    ax1.set_xticks(list(channels)[::step])
    ax1.tick_params(axis='x', labelsize=FONT_PT)
    ax1.set_xlabel('channel', fontsize=FONT_PT)
    bar = fig.colorbar(im, ax=ax1)
    bar.set_label('mean activation', fontsize=FONT_PT)
    bar.ax.tick_params(labelsize=FONT_PT)
    ax1.set_title(f'{title}: mean activation per class', fontsize=FONT_PT + 1)
    up = diff > 0
    ax2.bar([c for c, u in zip(channels, up) if u], diff[up], color='#b2182b', label=f'higher for {pair[0]}')
    ax2.bar([c for c, u in zip(channels, up) if not u], diff[~up], color='#2166ac', hatch='//', edgecolor='white',
            label=f'higher for {pair[1]}')
    ax2.set_xticks([1] + list(range(3, means.shape[1] + 1, 3)) if means.shape[1] > 10 else list(channels))
    ax2.tick_params(labelsize=FONT_PT)
    ax2.axhline(0, color='k', lw=0.5)
    ax2.set_xlabel('channel', fontsize=FONT_PT)
    ax2.set_ylabel(f'{pair[0]} minus {pair[1]}', fontsize=FONT_PT)
    ax2.legend(fontsize=FONT_PT, loc='best', frameon=False)
    ax2.set_title(f'{title}: {pair[0]} minus {pair[1]}, per channel', fontsize=FONT_PT + 1)
    fig.tight_layout()
    return fig


def _pairs_mosaic(a, b, cols, gap, pair_gap, label_rows):
    """One array holding channel c of a (left) and b (right) side by side, pairs in a grid; NaN between.

    Returns the array and the (x, y) data position above each pair, where its channel number goes.
    """
    c, h, w = a.shape
    rows = (c + cols - 1) // cols
    pair_w = 2 * w + gap
    out = torch.full((rows * (h + label_rows), cols * pair_w + (cols - 1) * pair_gap), float('nan'))
    spots = []
    for k in range(c):
        r, q = divmod(k, cols)
        y, x = r * (h + label_rows) + label_rows, q * (pair_w + pair_gap)
        out[y:y + h, x:x + w] = a[k]
        out[y:y + h, x + w + gap:x + pair_w] = b[k]
        spots.append((x + pair_w / 2 - 0.5, y - 0.7))
    return out, spots


@dataclass
class _Panel:
    """One picture in the explorer's figure: a mosaic of `shape` data pixels drawn at `scale` screen pixels each."""
    x: int                 # left edge, pixels from the figure's left
    y: int                 # top edge, pixels from the figure's top
    shape: tuple           # (rows, columns) of the mosaic
    scale: int             # screen pixels per data pixel
    cmap: str
    vmin: float
    vmax: float

    @property
    def size(self):
        """(height, width) on screen, in pixels."""
        return self.shape[0] * self.scale, self.shape[1] * self.scale


class FeatureMapExplorer:
    """Two inputs side by side, channel by channel, through the conv blocks of a net, at any epoch of its run.

    Pick inputs from a strip of thumbnails (buttons A and B under each); with ``snapshots`` (a Snapshots or
    a list of state_dicts) an epoch slider goes from 0 (random weights, before training) to the last epoch.
    Each block's colour scale is shared by all its channels, both inputs, every thumbnail and every epoch
    (it spans the outputs of all thumbnail images at all epochs), so a map that is brighter than another,
    or brighter than at an earlier epoch, really is more active. The kernels share one symmetric scale over
    all epochs, so you also see them grow. Activations are computed once per (input, epoch); the labels,
    scales and colour bars are drawn once, and each update only paints the maps into that picture at the
    size it is shown, so moving the slider is fast. Display it by making it the last expression of a cell
    (or with display()); a saved notebook shows a picture of its state.
    """
    WIDTH = 800  # pixels, drawn at exactly the width shown: fits JupyterLab at 1280 px with the file browser open
    THUMBS = 10  # thumbnails in the strip

    def __init__(self, net, data_iter, snapshots=None, first=('Pullover', 0), second=('Coat', 0),
                 classes=FASHION_MNIST_CLASSES, epoch=None):
        states = snapshots.states if isinstance(snapshots, Snapshots) else list(snapshots or [])
        for state in states:
            check_fits(net, state, 'a snapshot')
        self.data_iter, self.classes = data_iter, classes
        self._net = copy.deepcopy(net).cpu().eval()
        self._states = states or [copy_state(net)]
        self._nets, self._acts, self._pngs = {}, {}, {}
        self.epochs = len(self._states) - 1 if states else None  # None: one net, no time travel
        self.inputs = {'A': self._check_input(first), 'B': self._check_input(second)}
        self.epoch = len(self._states) - 1 if epoch is None else int(epoch)
        self._layout()
        self._build_controls()
        self.update()

    # --- the data: inputs, nets per epoch, activations per (input, epoch) ---------------------------
    def _check_input(self, choice):
        cls, index = choice
        pick_example(self.data_iter, cls, index, self.classes)  # raises a clear ValueError if impossible
        return cls, index

    def net_at(self, epoch):
        """The net with the weights it had after ``epoch`` (0: before training), cached."""
        if epoch not in self._nets:
            net = copy.deepcopy(self._net)
            net.load_state_dict(self._states[epoch])
            self._nets[epoch] = net.eval()
        return self._nets[epoch]

    def activations(self, choice, epoch):
        """(image, block outputs, predicted class) for an input (class, index) at an epoch, cached."""
        key = (choice, epoch)
        if key not in self._acts:
            x = pick_example(self.data_iter, *choice, self.classes)
            net = self.net_at(epoch)
            with torch.no_grad():
                guess = self.classes[int(net(x).argmax())]
            self._acts[key] = (x, [o[0] for o in block_outputs(net, x)], guess)
        return self._acts[key]

    def _reference_images(self):
        """Every image a thumbnail can offer: the first THUMBS test images of each class, as one batch."""
        return torch.cat([pick_example(self.data_iter, c, i, self.classes) for k, c in enumerate(self.classes)
                          for i in range(min(self.THUMBS, int((self.data_iter.labels == k).sum())))])

    def scales(self):
        """Per block (min, max) over every thumbnail image and every epoch; and the kernels' largest |w|."""
        X = self._reference_images()
        blocks = None
        for epoch in range(len(self._states)):
            outs = block_outputs(self.net_at(epoch), X)[:2]
            here = [(float(o.min()), float(o.max())) for o in outs]
            blocks = here if blocks is None else [(min(a, c), max(b, d)) for (a, b), (c, d) in zip(blocks, here)]
        key = next(k for k, v in self._states[0].items() if v.dim() == 4)  # the first conv layer's weight
        kmax = max(float(s[key].abs().max()) for s in self._states)
        return blocks, kmax, key

    # --- the picture: a template drawn once, maps painted in per update ------------------------------
    def _layout(self):
        """Place every panel in pixels, then draw the labels, titles and colour bars once (the template)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle
        from matplotlib.ticker import MaxNLocator
        blocks, kmax, self._kernel_key = self.scales()
        outs = self.activations(self.inputs['A'], 0)[1][:2]
        w = self._states[0][self._kernel_key]
        self.panels, labels, top, W = {}, [], 66, self.WIDTH
        self.panels['A'] = _Panel(14, top, (28, 28), 3, IMAGE_CMAP, 0, 1)
        self.panels['B'] = _Panel(112, top, (28, 28), 3, IMAGE_CMAP, 0, 1)
        labels += [('A', 'input A'), ('B', 'input B')]
        if w.shape[1] == 1:
            k, cols = w.shape[-1], 3
            scale = max(1, min(180 // (cols * (k + 1)), 10))
            self._kernel_gap = max(1, -(-7 // scale))  # label rows: 2 x gap data pixels >= 14 screen pixels
            mosaic, spots = _kernel_mosaic(w[:, 0], cols, self._kernel_gap)
            self.panels['kernels'] = _Panel(14, top + 140, tuple(mosaic.shape), scale, SIGNED_CMAP, -kmax, kmax)
            self._kernel_spots = spots
        x, self._block_layout = 205, []
        for b, o in enumerate(outs):
            c, h, wd = o.shape
            cols = 2 if c <= 8 else 4
            for scale in range(16, 0, -1):
                label_rows = -(-14 // scale)
                args = dict(cols=cols, gap=max(1, -(-3 // scale)), pair_gap=max(2, -(-12 // scale)),
                            label_rows=label_rows)
                mosaic, spots = _pairs_mosaic(o, o, **args)
                budget = 270 if b == 0 else W - x - 8  # the first block takes 270 px, the second the rest
                if mosaic.shape[1] * scale <= budget and mosaic.shape[0] * scale <= 300:
                    break
            vmin, vmax = blocks[b]
            cmap = SIGNED_CMAP if vmin < 0 < vmax and -vmin > 0.1 * vmax else MAP_CMAP
            if cmap == SIGNED_CMAP:
                vmin, vmax = -max(-vmin, vmax), max(-vmin, vmax)
            self.panels[f'block {b + 1}'] = _Panel(x, top, tuple(mosaic.shape), scale, cmap, vmin, vmax)
            self._block_layout.append((args, spots, (c, h, wd)))
            x += mosaic.shape[1] * scale + 30
        bottom = max(p.y + p.size[0] for p in self.panels.values())
        self.height = H = bottom + 78
        fig = Figure(figsize=(W / DPI, H / DPI), dpi=DPI)
        fig.patch.set_facecolor('white')

        def axes_at(p):
            h, wd = p.size
            ax = fig.add_axes((p.x / W, 1 - (p.y + h) / H, wd / W, h / H))
            ax.set_xlim(-0.5, p.shape[1] - 0.5), ax.set_ylim(p.shape[0] - 0.5, -0.5)
            ax.axis('off')
            return ax

        def colour_bar(p, x0, wide, label):
            cax = fig.add_axes((x0 / W, 1 - (bottom + 34) / H, wide / W, 12 / H))
            bar = fig.colorbar(ScalarMappable(Normalize(p.vmin, p.vmax), p.cmap), cax=cax, orientation='horizontal')
            bar.ax.tick_params(labelsize=FONT_PT, length=3, pad=1)
            bar.ax.xaxis.set_major_locator(MaxNLocator(4))
            bar.set_label(label, fontsize=FONT_PT, labelpad=2)

        for key, title in labels:
            ax = axes_at(self.panels[key])
            ax.set_title(title, fontsize=FONT_PT, pad=3)
            ax.add_patch(Rectangle((-1, -1), 30, 30, fill=False, lw=1, ec='0.7', clip_on=False))
        if 'kernels' in self.panels:
            p = self.panels['kernels']
            ax = axes_at(p)
            for c, (sx, sy) in enumerate(self._kernel_spots):
                ax.text(sx, sy, str(c + 1), ha='center', va='bottom', fontsize=FONT_PT)
            ax.set_title(f'first-layer kernels ({w.shape[-2]}x{w.shape[-1]})', fontsize=FONT_PT + 1, pad=4)
            colour_bar(p, p.x + 6, p.size[1] - 12, 'weight: blue -, red +')
        for b, (args, spots, (c, h, wd)) in enumerate(self._block_layout):
            p = self.panels[f'block {b + 1}']
            ax = axes_at(p)
            small = spots[1][0] - spots[0][0] if len(spots) > 1 else 99
            for k, (sx, sy) in enumerate(spots):
                ax.text(sx, sy, f'ch {k + 1}' if small * p.scale >= 44 else str(k + 1), ha='center',
                        va='bottom', fontsize=FONT_PT)
            ax.set_title(f'block {b + 1}: {c} channels of {h}x{wd}', fontsize=FONT_PT + 1, pad=4)
            colour_bar(p, p.x + 10, p.size[1] - 20, f'block {b + 1} output')
        fig.text(205 / W, 1 - 4 / H, 'Each channel: input A on the left, input B on the right. One colour scale '
                 'per block,\nshared by all its channels, both inputs, every thumbnail and every epoch.',
                 fontsize=FONT_PT, va='top')
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        self._template = np.asarray(canvas.buffer_rgba())[..., :3].copy()
        self.template_figure = fig  # kept for inspection (labels, scales); never redrawn

    def frame(self, epoch=None):
        """The explorer's picture for an epoch (default: the current one) as an RGB array, WIDTH pixels wide."""
        import matplotlib
        epoch = self.epoch if epoch is None else epoch
        (xa, outs_a, _), (xb, outs_b, _) = (self.activations(self.inputs[s], epoch) for s in 'AB')
        arrays = {'A': xa[0, 0], 'B': xb[0, 0]}
        if 'kernels' in self.panels:
            w = self._states[epoch][self._kernel_key].float()
            arrays['kernels'] = _kernel_mosaic(w[:, 0], 3, self._kernel_gap)[0]
        for b, (args, _, _) in enumerate(self._block_layout):
            arrays[f'block {b + 1}'] = _pairs_mosaic(outs_a[b], outs_b[b], **args)[0]
        out = self._template.copy()
        for key, values in arrays.items():
            p = self.panels[key]
            cmap = matplotlib.colormaps[p.cmap].with_extremes(bad='white')
            v = values.float().numpy()
            rgb = cmap((v - p.vmin) / ((p.vmax - p.vmin) or 1), bytes=True)[..., :3]
            keep = ~np.isnan(v).repeat(p.scale, axis=0).repeat(p.scale, axis=1)  # gaps keep the template's labels
            rgb = rgb.repeat(p.scale, axis=0).repeat(p.scale, axis=1)
            region = out[p.y:p.y + rgb.shape[0], p.x:p.x + rgb.shape[1]]
            region[keep] = rgb[keep]
        return out

    def png(self, epoch=None):
        """The picture as PNG bytes, WIDTH pixels wide, cached per (inputs, epoch)."""
        from PIL import Image
        epoch = self.epoch if epoch is None else epoch
        key = (self.inputs['A'], self.inputs['B'], epoch)
        if key not in self._pngs:
            buf = io.BytesIO()
            Image.fromarray(self.frame(epoch)).save(buf, format='PNG', compress_level=1)
            self._pngs[key] = buf.getvalue()
        return self._pngs[key]

    def caption(self, epoch=None):
        """One line saying which epoch and inputs are shown, and what the net predicts for each."""
        epoch = self.epoch if epoch is None else epoch
        if self.epochs is None:
            when = 'The trained net.'
        elif epoch == 0:
            when = f'Epoch 0 of {self.epochs}: before training (random weights).'
        else:
            when = f'Epoch {epoch} of {self.epochs}: after {epoch} epoch{"s" if epoch > 1 else ""} of training.'
        parts = []
        for slot in 'AB':
            cls, idx = self.inputs[slot]
            guess = self.activations(self.inputs[slot], epoch)[2]
            mark = '&#10003;' if guess == cls else '&#10007;'
            parts.append(f'input {slot}: {cls} {idx + 1}, the net says <b>{guess}</b> {mark}')
        return f'<b>{when}</b> &nbsp; ' + ' &nbsp;·&nbsp; '.join(parts)

    # --- the controls ------------------------------------------------------------------------------
    def _build_controls(self):
        self.epoch_slider = widgets.IntSlider(
            value=self.epoch, min=0, max=max(self.epochs or 0, 1), description='epoch', continuous_update=False,
            style={'description_width': '50px'}, layout=widgets.Layout(width='360px'),
            disabled=self.epochs is None)
        self.epoch_slider.observe(lambda change: self.set_epoch(change['new']), names='value')
        note = ('0 = before training; the picture changes when you let go'
                if self.epochs is not None else 'no snapshots were kept: this is the trained net only')
        self.epoch_note = widgets.HTML(f'<span style="font-size:13px">{note}</span>')
        self.strip_choice = widgets.Dropdown(
            options=['one of each class'] + list(self.classes), value='one of each class',
            description='thumbnails', style={'description_width': '80px'}, layout=widgets.Layout(width='290px'))
        self.strip_choice.observe(lambda change: self._fill_strip(), names='value')
        self.strip = widgets.HBox(layout=widgets.Layout(flex_flow='row wrap'))
        self.message, self.status = widgets.HTML(), widgets.HTML()
        self.image = widgets.Image(format='png', width=self.WIDTH,
                                   layout=widgets.Layout(width=f'{self.WIDTH}px', min_width=f'{self.WIDTH}px',
                                                         height=f'{self.height}px', object_fit='none'))
        self._fill_strip()
        self.view = widgets.VBox([
            widgets.HBox([self.epoch_slider, self.epoch_note], layout=widgets.Layout(align_items='center')),
            widgets.HBox([self.strip_choice, widgets.HTML('<span style="font-size:13px">press A or B under an '
                                                          'image to show it as input A or B</span>')],
                         layout=widgets.Layout(align_items='center')),
            self.strip, self.message, self.status, self.image])
        for widget, name in ((self.view, 'explorer'), (self.epoch_slider, 'epoch-slider'), (self.strip, 'thumbnails'),
                             (self.status, 'explorer-status'), (self.image, 'maps-image')):
            widget.add_class(f'lenet-{name}')  # names the browser test (and a curious student) can find

    def strip_inputs(self):
        """The (class, index) pairs the thumbnail strip offers now (index counts from 0)."""
        if self.strip_choice.value == 'one of each class':
            return [(c, 0) for c in self.classes][:self.THUMBS]
        cls = self.strip_choice.value
        count = int((self.data_iter.labels == self.classes.index(cls)).sum())
        return [(cls, i) for i in range(min(self.THUMBS, count))]

    def _fill_strip(self):
        cells, self._buttons = [], []
        for choice in self.strip_inputs():
            x = pick_example(self.data_iter, *choice, self.classes)
            thumb = widgets.Image(value=_thumbnail_png(x), format='png', width=56, height=56,
                                  layout=widgets.Layout(width='56px', height='56px', border='1px solid #bbb'))
            row = []
            for slot in 'AB':
                button = widgets.Button(description=slot, tooltip=f'show {choice[0]} {choice[1] + 1} as input {slot}',
                                        layout=widgets.Layout(width='30px', height='26px', padding='0px'))
                button.on_click(lambda _, slot=slot, choice=choice: self.pick(slot, *choice))
                self._buttons.append((slot, choice, button))
                row.append(button)
            label = widgets.HTML(f'<div style="font-size:12px;text-align:center;line-height:1.15">'
                                 f'{choice[0]}<br>{choice[1] + 1}</div>', layout=widgets.Layout(width='74px'))
            cells.append(widgets.VBox([thumb, label, widgets.HBox(row)],
                                      layout=widgets.Layout(align_items='center', width='74px', margin='0px 2px')))
        self.strip.children = cells
        self._mark_buttons()

    def _mark_buttons(self):
        for slot, choice, button in self._buttons:
            button.button_style = 'info' if self.inputs[slot] == choice else ''

    def pick(self, slot, class_name, index=0):
        """Show test image ``index`` (counted from 0) of ``class_name`` as input 'A' or 'B'."""
        if slot not in self.inputs:
            raise ValueError(f"slot must be 'A' or 'B', got {slot!r}.")
        try:
            self.inputs[slot] = self._check_input((class_name, index))
        except ValueError as e:
            self.message.value = f'<span style="color:#a00">{e}</span>'
            return
        self._mark_buttons()
        self.update()

    def set_epoch(self, epoch):
        """Show the net after ``epoch`` (0: before training)."""
        if self.epochs is None:
            return
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= self.epochs:
            raise ValueError(f'epoch must be a whole number from 0 (before training) to {self.epochs}, got {epoch!r}.')
        self.epoch = epoch
        if self.epoch_slider.value != epoch:
            self.epoch_slider.value = epoch  # its observer calls back here
            return
        self.update()

    def update(self):
        """Show the picture for the current inputs and epoch (a failure is explained, not raised)."""
        try:
            self.image.value = self.png()
            self.status.value = f'<div style="font-size:13px;margin:2px 0">{self.caption()}</div>'
        except (ValueError, RuntimeError) as e:
            self.message.value = f'<span style="color:#a00">Cannot draw this choice: {e}</span>'
            return
        self.message.value = ''

    # --- display -----------------------------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        data = self.view._repr_mimebundle_(include=include, exclude=exclude) or {}
        data = dict(data[0] if isinstance(data, tuple) else data)
        png = base64.b64encode(self.png()).decode('ascii')
        data['image/png'] = png
        data['text/html'] = (f'<div style="font-size:13px">{self.caption()}</div>'
                             f'<img src="data:image/png;base64,{png}" width="{self.WIDTH}" alt="feature maps">'
                             f'<p><i>A picture of the explorer as it was when the notebook ran: run the notebook '
                             f'to move the epoch slider and pick other inputs.</i></p>')
        data['text/plain'] = repr(self)
        return data

    def __repr__(self):
        a, b = self.inputs['A'], self.inputs['B']
        return f'<FeatureMapExplorer at epoch {self.epoch}: input A = {a[0]} {a[1] + 1}, input B = {b[0]} {b[1] + 1}>'


def _kernel_mosaic(w, cols, gap=1):
    """The first layer's kernels (C, k, k) in a grid with NaN gaps (2 x gap rows above each row for labels)."""
    c, k, _ = w.shape
    rows = (c + cols - 1) // cols
    out = torch.full((rows * (k + 2 * gap), cols * (k + gap) - gap), float('nan'))
    spots = []
    for i in range(c):
        r, q = divmod(i, cols)
        y, x = r * (k + 2 * gap) + 2 * gap, q * (k + gap)
        out[y:y + k, x:x + k] = w[i]
        spots.append((x + k / 2 - 0.5, y - 0.7))
    return out, spots


def _thumbnail_png(x, size=56):
    """A small PNG of one image (1, 1, H, W) in [0, 1], dark ink on white, exactly size x size pixels."""
    from PIL import Image
    import matplotlib
    v = x.reshape(x.shape[-2], x.shape[-1]).numpy()
    rgb = matplotlib.colormaps[IMAGE_CMAP](v, bytes=True)[..., :3]
    buf = io.BytesIO()
    Image.fromarray(rgb).resize((size, size), Image.NEAREST).save(buf, format='PNG')
    return buf.getvalue()
