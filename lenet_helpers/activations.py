"""Notebooks 05 and 08: what the layers of a trained net output, drawn on shared, labelled colour scales."""
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from torch import nn

from .data import FASHION_MNIST_CLASSES
from .explore import figure_png
from .models import evaluating

POOL_TYPES = (nn.AvgPool2d, nn.MaxPool2d)


def save_checkpoint(net, path):
    """Save a net's weights (its state_dict) to path, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    return path


def load_checkpoint(net, path):
    """Load weights saved by save_checkpoint into net (tensors only: weights_only=True); returns net."""
    net.load_state_dict(torch.load(path, map_location='cpu', weights_only=True))
    return net.eval()


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
    activation that follows each conv layer when the net does not pool."""
    outputs, pooled, pending = [], any(isinstance(m, POOL_TYPES) for m in net), False
    with evaluating(net), torch.no_grad():
        for layer in net:
            X = layer(X)
            if isinstance(layer, nn.Conv2d):
                pending = True
            elif pending and (isinstance(layer, POOL_TYPES) if pooled else
                              not isinstance(layer, (nn.BatchNorm2d, nn.Dropout))):
                outputs.append(X.contiguous())
                pending = False
            if isinstance(layer, nn.Flatten):
                break
    return outputs


def _grid(n):
    """Rows and columns for n small panels: 6 -> 2x3, 16 -> 4x4."""
    cols = {1: 1, 2: 2, 3: 3, 4: 2, 6: 3, 8: 4, 16: 4, 32: 8, 64: 8}.get(n, int(n ** 0.5 + 0.999))
    return (n + cols - 1) // cols, cols


def plot_block_maps(rows, blocks=(0, 1), block_names=None, cmap='viridis', panel=0.6):
    """Draw rows of (label, image, block outputs): the input, then every channel of the chosen blocks.

    Each block has ONE colour scale shared by all rows (so two inputs compare fairly), with a labelled
    colour bar; the input is drawn in grey from 0 (black) to 1 (white). Returns the figure.
    """
    block_names = block_names or [f'block {b + 1}' for b in blocks]
    limits = []
    for b in blocks:
        values = torch.cat([outs[b].flatten() for _, _, outs in rows])
        limits.append((float(values.min()), float(values.max())))
    shapes = [_grid(rows[0][2][b].shape[1]) for b in blocks]
    tall, n, cb = max(r for r, _ in shapes), len(rows), 0.35
    width = panel * (2.6 + sum(c + 0.6 for _, c in shapes))
    fig = plt.figure(figsize=(width, panel * (tall * n + cb) + 0.9), dpi=80)
    subs = fig.subfigures(1, 1 + len(blocks), width_ratios=[2.6] + [c + 0.6 for _, c in shapes], wspace=0.02)
    gs = subs[0].add_gridspec(n + 1, 1, height_ratios=[tall] * n + [cb], hspace=0.45)
    for i, (label, image, _) in enumerate(rows):
        ax = subs[0].add_subplot(gs[i, 0])
        ax.imshow(image.reshape(28, 28).numpy(), cmap='gray', vmin=0, vmax=1)
        ax.set_title(label, fontsize=7)
        ax.set_xticks([]), ax.set_yticks([])
    ax.set_xlabel('input, grey from\n0 (black) to 1 (white)', fontsize=6)
    for sub, b, name, (vmin, vmax), (nr, nc) in zip(subs[1:], blocks, block_names, limits, shapes):
        gs = sub.add_gridspec(n * nr + 1, nc, height_ratios=[tall / nr] * (n * nr) + [cb], hspace=0.35, wspace=0.08)
        for i, (label, _, outs) in enumerate(rows):
            maps = outs[b][0]
            for c in range(nr * nc):
                ax = sub.add_subplot(gs[i * nr + c // nc, c % nc])
                ax.set_xticks([]), ax.set_yticks([])
                if c < len(maps):
                    im = ax.imshow(maps[c].numpy(), cmap=cmap, vmin=vmin, vmax=vmax)
                    ax.set_title(f'ch {c}', fontsize=6, pad=1)
                else:
                    ax.axis('off')
                if c % nc == 0 and c // nc == 0:
                    ax.set_ylabel(label.split('\n')[0], fontsize=6)
        sub.suptitle(f'{name}: {maps.shape[0]} maps of {maps.shape[1]}x{maps.shape[2]}', fontsize=8)
        bar = sub.colorbar(im, cax=sub.add_subplot(gs[-1, :]), orientation='horizontal')
        bar.set_label(f'{name} output, one scale for both rows', fontsize=7)
        bar.ax.tick_params(labelsize=6)
    return fig


def plot_kernels(net, cmap='RdBu_r'):
    """Draw the first conv layer's kernels on one symmetric colour scale (red positive, blue negative)."""
    conv = next(m for m in net if isinstance(m, nn.Conv2d))
    w = conv.weight.detach().float()[:, 0]
    v = float(w.abs().max())
    nr, nc = _grid(len(w))
    fig, axes = plt.subplots(nr, nc, figsize=(1.1 * nc + 0.8, 1.1 * nr + 0.4), dpi=80, squeeze=False)
    for c, ax in enumerate(axes.flat):
        ax.set_xticks([]), ax.set_yticks([])
        if c < len(w):
            im = ax.imshow(w[c].numpy(), cmap=cmap, vmin=-v, vmax=v)
            ax.set_title(f'kernel {c}', fontsize=7)
        else:
            ax.axis('off')
    bar = fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.05)
    bar.set_label('weight', fontsize=8)
    fig.suptitle(f'first conv layer: {len(w)} kernels of {w.shape[1]}x{w.shape[2]}', fontsize=9)
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
    """A heat map of class x channel mean activations, and the difference between two classes per channel."""
    a, b = classes.index(pair[0]), classes.index(pair[1])
    means = means.detach().numpy()
    diff = means[a] - means[b]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2), dpi=80, width_ratios=[1.4, 1])
    im = ax1.imshow(means, cmap='viridis', aspect='auto')
    ax1.set_yticks(range(len(classes)), classes, fontsize=7)
    ax1.set_xticks(range(means.shape[1]))
    ax1.tick_params(axis='x', labelsize=6)
    ax1.set_xlabel('channel')
    fig.colorbar(im, ax=ax1).set_label('mean activation', fontsize=8)
    ax1.set_title(f'{title}: mean activation per class and channel', fontsize=9)
    colors = ['tab:red' if d > 0 else 'tab:blue' for d in diff]
    ax2.bar(range(len(diff)), diff, color=colors)
    ax2.set_xticks(range(len(diff)))
    ax2.tick_params(axis='x', labelsize=6)
    ax2.axhline(0, color='k', lw=0.5)
    ax2.set_xlabel('channel'), ax2.set_ylabel(f'{pair[0]} minus {pair[1]}')
    ax2.set_title(f'which channels separate {pair[0]} from {pair[1]}', fontsize=9)
    fig.tight_layout()
    return fig


class FeatureMapExplorer:
    """Two inputs picked by class and index, shown side by side with their conv-block feature maps."""

    def __init__(self, net, data_iter, first=('Pullover', 0), second=('Coat', 0), classes=FASHION_MNIST_CLASSES):
        self.net, self.data_iter, self.classes = net, data_iter, classes
        s = {'style': {'description_width': '80px'}, 'layout': widgets.Layout(width='260px')}
        self.class_a = widgets.Dropdown(options=list(classes), value=first[0], description='input A', **s)
        self.index_a = widgets.IntSlider(first[1], min=0, max=99, description='index A', **s)
        self.class_b = widgets.Dropdown(options=list(classes), value=second[0], description='input B', **s)
        self.index_b = widgets.IntSlider(second[1], min=0, max=99, description='index B', **s)
        self.message, self.image = widgets.HTML(), widgets.Image(format='png', layout=widgets.Layout(max_width='100%'))
        for w in (self.class_a, self.index_a, self.class_b, self.index_b):
            w.observe(lambda change: self.update(), names='value')
        self.update()

    def rows(self):
        """(label, image, block outputs) for the two chosen inputs."""
        rows = []
        for cls, idx in ((self.class_a.value, self.index_a.value), (self.class_b.value, self.index_b.value)):
            x = pick_example(self.data_iter, cls, idx, self.classes)
            with torch.no_grad():
                guess = self.classes[int(self.net.eval()(x).argmax())]
            rows.append((f'{cls} #{idx}\n(net says: {guess})', x, block_outputs(self.net, x)))
        return rows

    def update(self):
        """Redraw the figure for the current choices (a bad choice is explained, not raised)."""
        try:
            fig = plot_block_maps(self.rows())
        except ValueError as e:
            self.message.value = f'<span style="color:#a00">{e}</span>'
            return
        self.message.value = ''
        self.image.value = figure_png(fig)

    def widget(self):
        return widgets.VBox([widgets.HBox([widgets.VBox([self.class_a, self.index_a]),
                                           widgets.VBox([self.class_b, self.index_b])]), self.message, self.image])

    def show(self):
        display(self.widget())
