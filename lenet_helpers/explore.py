"""Figures and analysis for the notebooks: data-flow diagram, image grids, class balance, predictions."""
import io

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyArrowPatch, Rectangle
from torch import nn

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


def draw_dataflow(net, input_shape=(1, 1, 28, 28), figsize=(10, 3)):
    """Draw how data flows through the net: feature maps as stacks of squares, vectors as bars."""
    stages = dataflow_stages(net, input_shape)
    fig, ax = plt.subplots(figsize=figsize)
    x, biggest = 0.0, max(s[-1] for _, s in stages if len(s) == 3)
    for i, (label, shape) in enumerate(stages):
        if len(shape) == 3:  # channels x height x width: a few offset squares stand for the channels
            c, h, w = shape
            side, n = 2.2 * (h / biggest) ** 0.5, min(c, 6)
            width, text = side + 0.12 * n, f'{c}@{h}x{w}'
            for j in range(n):
                ax.add_patch(Rectangle((x + 0.12 * j, -side / 2 - 0.12 * j), side, side,
                                       facecolor=plt.cm.Blues(0.3 + 0.1 * j), edgecolor='k', lw=0.6))
        else:  # a flat vector: a bar whose height grows with the number of digits of its length
            height = 0.4 + 0.4 * len(str(shape[0]))
            width, text = 0.3, f'{shape[0]}'
            ax.add_patch(Rectangle((x, -height / 2), width, height, facecolor=plt.cm.Oranges(0.45),
                                   edgecolor='k', lw=0.6))
        slot = max(width, 1.1)
        ax.text(x + width / 2, -1.75, text, ha='center', va='top', fontsize=8)
        ax.text(x + width / 2, 1.65, label.replace(' + ', '\n+ '), ha='center', va='bottom', fontsize=7)
        if i < len(stages) - 1:
            ax.add_patch(FancyArrowPatch((x + width + 0.05, 0), (x + slot + 0.45, 0),
                                         arrowstyle='->', mutation_scale=10))
        x += slot + 0.5
    ax.set_xlim(-0.2, x), ax.set_ylim(-2.2, 2.5), ax.set_aspect('equal'), ax.axis('off')
    return fig


def show_images(images, titles=None, ncols=8, scale=1.2):
    """Show greyscale images (N, 28, 28) or (N, 1, 28, 28) in a grid with optional titles."""
    images = images.reshape(len(images), *images.shape[-2:])
    nrows = (len(images) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale * 1.25), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis('off')
        if k < len(images):
            ax.imshow(images[k].float().numpy(), cmap='gray_r')
            if titles:
                ax.set_title(titles[k], fontsize=7)
    fig.tight_layout()
    return fig


def class_counts(labels, num_classes=10):
    """How many examples each class has."""
    return torch.bincount(labels, minlength=num_classes)


def plot_class_balance(train_counts, test_counts, classes=FASHION_MNIST_CLASSES):
    """Bar chart of the examples per class in both splits."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
    for ax, counts, name in zip(axes, (train_counts, test_counts), ('training', 'test')):
        ax.bar(range(len(classes)), counts.tolist(), color='tab:blue')
        ax.set_xticks(range(len(classes)), classes, rotation=60, fontsize=7)
        ax.set_title(f'{name} set: {int(counts.sum()):,} images', fontsize=9)
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
    labels, preds = torch.as_tensor(labels), torch.as_tensor(preds)
    for name, t in (('labels', labels), ('predictions', preds)):
        if t.is_floating_point() or t.dtype == torch.bool:
            raise ValueError(f'confusion_matrix needs class numbers, but the {name} are {t.dtype}; pass '
                             f'y_hat.argmax(dim=1) rather than scores.')
        if t.numel() and not (0 <= int(t.min()) and int(t.max()) < num_classes):
            bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
            raise ValueError(f'confusion_matrix: the {name} hold {bad}, which is not a class: there are '
                             f'{num_classes} classes, numbered 0 to {num_classes - 1}.')
    if labels.shape != preds.shape:
        raise ValueError(f'confusion_matrix needs one prediction per label: {tuple(labels.shape)} labels, '
                         f'{tuple(preds.shape)} predictions.')
    labels, preds = labels.long(), preds.long()
    return torch.bincount(labels * num_classes + preds, minlength=num_classes ** 2).reshape(
        num_classes, num_classes)


def plot_confusion_matrix(cm, classes=FASHION_MNIST_CLASSES):
    """Draw a confusion matrix with its counts written in the cells."""
    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    ax.imshow(cm.float().log1p().numpy(), cmap='Blues')
    for t in range(len(classes)):
        for p in range(len(classes)):
            v = int(cm[t, p])
            ax.text(p, t, str(v), ha='center', va='center', fontsize=6,
                    color='white' if t == p else 'black')
    ax.set_xticks(range(len(classes)), classes, rotation=60, fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
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


def figure_png(fig, dpi=80):
    """Render a figure to PNG bytes and close it (for image widgets)."""
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=dpi, bbox_inches='tight')
    plt.close(fig)
    return buf.getvalue()
