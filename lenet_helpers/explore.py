"""Figures and analysis for the notebooks: data-flow diagram, image grids, class balance, predictions.

Every figure follows style.py (dark-on-white images, colour-blind-safe curves, >= 9 pt text).
"""
import io
import textwrap

import matplotlib
import matplotlib.ticker
import matplotlib.pyplot as plt
import numpy
import torch
from matplotlib.patches import FancyArrowPatch, Polygon, Rectangle
from torch import nn

from . import style
from .data import FASHION_MNIST_CLASSES
from .models import Reshape, evaluating, layer_table
from .training import prepare_batch, resolve_device


def dataflow_stages(net, input_shape=(1, 1, 28, 28)):
    """The net's stages as (label, output shape) pairs; activations are folded into the layer before."""
    stages = [('input', tuple(input_shape[1:]))]
    for row, layer in zip(layer_table(net, input_shape), net):
        if isinstance(layer, nn.Conv2d):
            k, p = layer.kernel_size[0], layer.padding[0]
            label = f'conv {k}x{k}' + (f' pad {p}' if p else '')
        elif isinstance(layer, (nn.AvgPool2d, nn.MaxPool2d)):
            label = ('avg' if isinstance(layer, nn.AvgPool2d) else 'max') + f' pool {layer.kernel_size}'
        elif isinstance(layer, nn.Flatten):
            label = 'flatten'
        elif isinstance(layer, nn.Linear):
            label = 'dense'
        elif isinstance(layer, (Reshape, nn.Dropout)):
            continue
        else:  # an activation or a norm keeps the shape: fold it into the stage before
            stages[-1] = (f'{stages[-1][0]} + {type(layer).__name__.lower()}', stages[-1][1])
            continue
        stages.append((label, row['output'][1:]))
    return stages


def _box(ax, x, side, depth, colour, slices=0):
    """A feature map as a box: the front face is side x side, the oblique depth shows the channels."""
    dx, dy = depth * 0.8, depth * 0.45  # oblique projection of the depth axis
    y0 = -side / 2
    front = [(x, y0), (x + side, y0), (x + side, y0 + side), (x, y0 + side)]
    top = [(x, y0 + side), (x + side, y0 + side), (x + side + dx, y0 + side + dy), (x + dx, y0 + side + dy)]
    right = [(x + side, y0), (x + side + dx, y0 + dy), (x + side + dx, y0 + side + dy), (x + side, y0 + side)]
    for corners, shade in ((right, 0.75), (top, 0.9), (front, 1.0)):
        rgb = [c * shade for c in matplotlib.colors.to_rgb(colour)]
        ax.add_patch(Polygon(corners, closed=True, facecolor=rgb, edgecolor='black', lw=0.7))
    for j in range(1, slices):  # one thin line per channel boundary on the top face: count them
        f = j / slices
        ax.plot([x + f * dx, x + side + f * dx], [y0 + side + f * dy] * 2, color='black', lw=0.35)
    return side + dx, side / 2 + dy


def draw_dataflow(net, input_shape=(1, 1, 28, 28), figsize=(10, 3.4)):
    """Draw how data flows through the net, to scale.

    A feature map is a box: its front face's side is proportional to its height and width in pixels,
    its depth to its number of channels (one line on the top face per channel boundary). A vector is a
    bar whose height is proportional to its length (on its own scale, written in the figure). Each
    stage is labelled with its layer (numbered from 1 like ``layer_table``) and its shape.
    """
    stages = dataflow_stages(net, input_shape)
    pixel, channel = 0.1, 0.12  # units per pixel of height/width, per channel of depth
    longest = max(s[0] for _, s in stages if len(s) == 1)
    tallest = max(s[-1] for _, s in stages if len(s) == 3) * pixel
    per_value = tallest / longest  # the longest vector is as tall as the tallest map
    fig, ax = style.figure(*figsize)
    x, top = 0.0, tallest / 2
    with style.apply():
        for i, (label, shape) in enumerate(stages):
            if len(shape) == 3:
                c, h, w = shape
                slot = max(h * pixel + c * channel * 0.8, 1.2)
                left = x + (slot - h * pixel - c * channel * 0.8) / 2
                width, height = _box(ax, left, h * pixel, c * channel, style.OKABE_ITO[5], slices=c)
                text = f'{c} channel{"s" if c > 1 else ""}\n{h}x{w}'
            else:
                slot, width = 1.9, 0.22
                left = x + (slot - width) / 2
                height = max(shape[0] * per_value, 0.04)
                ax.add_patch(Rectangle((left, -height / 2), width, height, facecolor=style.OKABE_ITO[4],
                                       edgecolor='black', lw=0.7))
                height, text = height / 2, f'{shape[0]}\nvalues'
            top = max(top, height)
            ax.text(x + slot / 2, -tallest / 2 - 0.15, text, ha='center', va='top', fontsize=style.MIN_FONT)
            ax.text(x + slot / 2, tallest / 2 + 0.55, label.replace(' + ', '\n+ '), ha='center',
                    va='bottom', fontsize=style.MIN_FONT)
            if i < len(stages) - 1:
                ax.add_patch(FancyArrowPatch((left + width + 0.05, 0), (x + slot + 0.45, 0),
                                             arrowstyle='->', mutation_scale=10))
            x += slot + 0.3
        ax.text(0, -tallest / 2 - 1.05, 'To scale. Boxes: side = height and width in pixels, depth = '
                'channels (one line per channel).\nBars: height = number of values (the longest bar, '
                f'{longest} values, is drawn as tall as the {int(tallest / pixel)}-pixel input).',
                ha='left', va='top', fontsize=style.MIN_FONT, color='0.25')
        ax.set_xlim(-0.2, x), ax.set_ylim(-tallest / 2 - 1.9, tallest / 2 + 1.5)
        ax.set_aspect('equal'), ax.axis('off')
    return fig


def _as_images(imgs):
    """(N, H, W) float images from a tensor (N, H, W), (N, 1, H, W), a list of them, or numpy arrays."""
    if isinstance(imgs, (list, tuple)):
        imgs = torch.stack([torch.as_tensor(i) for i in imgs])
    imgs = torch.as_tensor(imgs).detach().cpu()
    return imgs.reshape(len(imgs), *imgs.shape[-2:]).float()


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5):
    """d2l's call shape: show images in a num_rows x num_cols grid, dark on white; returns the axes."""
    imgs = _as_images(imgs)
    vmax = 255.0 if len(imgs) and float(imgs.max()) > 1.0 else 1.0
    _, axes = style.figure(num_cols * scale, num_rows * scale, num_rows, num_cols, squeeze=False)
    axes = axes.flatten() if hasattr(axes, 'flatten') else [axes]
    with style.apply():
        for i, (ax, img) in enumerate(zip(axes, imgs)):
            style.show_image(ax, img, titles[i] if titles else None, vmax=vmax)
        for ax in axes[len(imgs):]:
            ax.axis('off')
    return axes


def image_grid(images, titles=None, ncols=8, scale=1.2):
    """Greyscale images (N, H, W) or (N, 1, H, W) in a grid with optional titles; returns the figure."""
    images = _as_images(images)
    nrows = (len(images) + ncols - 1) // ncols
    scale = min(scale, style.MAX_WIDTH / ncols)
    if titles:  # wrap titles to the width of one image (about 16 characters of 9-pt text per inch)
        titles = ['\n'.join(textwrap.fill(line, max(6, int(scale * 16))) for line in str(t).split('\n'))
                  for t in titles]
    has_titles = bool(titles)
    lines = max((str(t).count('\n') + 1 for t in titles), default=1) if has_titles else 0
    axes = show_images(images, nrows, ncols, titles, scale=scale)
    fig = axes[0].figure
    fig.set_size_inches(fig.get_figwidth(), fig.get_figheight() * (1 + 0.2 * lines))
    fig.tight_layout(pad=0.3)
    return fig


def class_counts(labels, num_classes=10):
    """How many examples each class has."""
    return torch.bincount(labels, minlength=num_classes)


def plot_class_balance(train_counts, test_counts, classes=FASHION_MNIST_CLASSES):
    """Bar chart of the examples per class in both splits."""
    fig, axes = style.figure(9, 3.4, 1, 2)
    with style.apply():
        for ax, counts, name in zip(axes, (train_counts, test_counts), ('training', 'test')):
            ax.bar(range(len(classes)), counts.tolist(), color=style.OKABE_ITO[0])
            ax.set_xticks(range(len(classes)), classes, rotation=60, ha='right')
            ax.set_ylabel('images')
            ax.set_title(f'{name} set: {int(counts.sum()):,} images')
        fig.tight_layout()
    return fig


def predict(net, data_iter, device=None):
    """Run the net over data_iter; return (labels, predicted labels, probabilities (N, C)) on the CPU."""
    device = resolve_device(device or next(net.parameters()).device)
    labels, probs = [], []
    with evaluating(net), torch.inference_mode():
        for X, y in data_iter:
            probs.append(torch.softmax(net(prepare_batch(X, device)).float(), dim=1).cpu())
            labels.append(y)
    probs = torch.cat(probs)
    return torch.cat(labels), probs.argmax(dim=1), probs


def confusion_matrix(labels, preds, num_classes=10):
    """Counts (C, C): row = true class, column = predicted class."""
    return torch.bincount(labels * num_classes + preds, minlength=num_classes ** 2).reshape(
        num_classes, num_classes)


def plot_confusion_matrix(cm, classes=FASHION_MNIST_CLASSES):
    """Draw a confusion matrix: counts in the cells, a labelled log colour scale, readable text colours."""
    counts = cm.long().numpy()
    norm = matplotlib.colors.LogNorm(vmin=1, vmax=max(int(counts.max()), 2))
    cmap = matplotlib.colormaps[style.SEQUENTIAL_CMAP].with_extremes(bad='white')
    fig, ax = style.figure(7.2, 6.2)
    with style.apply():
        shown = ax.imshow(numpy.ma.masked_equal(counts, 0), cmap=cmap, norm=norm)
        bar = fig.colorbar(shown, ax=ax, shrink=0.85)
        bar.set_label('test images in the cell (log scale; 0 = white)')
        bar.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f'{v:,.0f}'))
        for t in range(len(classes)):
            for p in range(len(classes)):
                v = int(counts[t, p])
                colour = 'black' if v == 0 else style.text_colour(cmap(norm(v)))
                ax.text(p, t, str(v), ha='center', va='center', fontsize=style.MIN_FONT, color=colour)
        ax.set_xticks(range(len(classes)), classes, rotation=60, ha='right')
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel('predicted class'), ax.set_ylabel('true class')
        fig.tight_layout()
    return fig


def misclassified(labels, preds, probs, true_class=None, pred_class=None):
    """Indices of wrong predictions (optionally of one true/predicted pair), most confident first."""
    wrong = labels != preds
    if true_class is not None:
        wrong &= labels == true_class
    if pred_class is not None:
        wrong &= preds == pred_class
    idx = wrong.nonzero().flatten()
    confidence = probs[idx, preds[idx]]
    return idx[confidence.argsort(descending=True)]


def prediction_titles(idx, labels, preds, probs, classes=FASHION_MNIST_CLASSES):
    """Titles 'true -> predicted (confidence)' for the examples at idx."""
    return [f'{classes[int(labels[i])]}\n-> {classes[int(preds[i])]} ({float(probs[i, preds[i]]):.0%})'
            for i in idx]


def figure_png(fig, dpi=None):
    """Render a figure to PNG bytes at its own dpi (shown 1:1, see style.py) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=dpi or fig.dpi, bbox_inches='tight')
    plt.close(fig)
    return buf.getvalue()


def shuffle_pixels(images, permutation):
    """Apply ONE pixel permutation (a shuffled range(H * W)) to every image of (N, H, W) or (N, 1, H, W)."""
    flat = images.reshape(len(images), -1)
    return flat[:, permutation].reshape(images.shape)


def train_quietly(net, train_iter, test_iter, num_epochs, lr=0.001, seed=0):
    """Train with train_ch6 and Adam (fast to converge in a few epochs), printing and plotting nothing;
    returns the History. For short side experiments, not the chapter's recipe (notebook 04 has that)."""
    import contextlib
    from .training import set_seed, train_ch6
    set_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    with contextlib.redirect_stdout(io.StringIO()):
        return train_ch6(net, train_iter, test_iter, num_epochs, lr, optimizer=optimizer, animate=False,
                         progress=False)
