"""Notebooks 05-07 without the controls: seeded runs that differ in one thing, their tables, ablations, MNIST."""
import html
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torch import nn

from .models import LENET_PLUS_DESIGN, build_lenet, count_params
from .runs import RunLog
from .recipes import INITS, OPTIMIZERS, initialise, make_optimizer
from .training import set_seed, train_ch6


def reset_data_order(train_iter, seed):
    """Make the next pass over train_iter shuffle exactly as after set_seed(seed): same data order per run."""
    set_seed(seed)
    if getattr(train_iter, 'generator', None) is not None:
        train_iter.generator.manual_seed(seed)


def controlled_run(net_fn, train_iter, test_iter, num_epochs, lr, *, seed=0, optimizer='sgd',
                   one_cycle=False, init='xavier', weight_decay=0.0, **train_kw):
    """Build net_fn() and train it with a fixed seed and data order; return (net, History).

    Two calls that differ only in net_fn see the same initial random stream and the same batches.
    """
    reset_data_order(train_iter, seed)
    net = initialise(net_fn(), init)
    opt = make_optimizer(net, optimizer, lr, num_epochs if one_cycle else None, len(train_iter), weight_decay)
    train_kw.setdefault('animate', False)
    history = train_ch6(net, train_iter, test_iter, num_epochs, lr, init=False, optimizer=opt, **train_kw)
    return net, history


def epochs_to_reach(history, threshold=0.80):
    """The first epoch whose test accuracy is at least threshold, or None."""
    return next((e for e, a in zip(history.epoch, history.test_acc) if a >= threshold), None)


def results_table(log, threshold=0.80):
    """An HTML table of a RunLog: final and best test accuracy, epochs to reach threshold, seconds, status."""
    head = ['run', 'final test acc', 'best test acc', f'epochs to {threshold:.2f}', 'seconds', 'status']
    body = []
    for r in log.runs:
        h = r['history']
        reach = epochs_to_reach(h, threshold)
        cells = [r['name'], f'{h.test_acc[-1]:.3f}' if h.epoch else '-', f'{max(h.test_acc):.3f}' if h.epoch else '-',
                 str(reach) if reach else f'not within {len(h.epoch)}', f'{h.seconds[-1]:.0f}' if h.epoch else '-',
                 h.stopped]
        body.append('<tr>' + ''.join(f'<td>{html.escape(str(c))}</td>' for c in cells) + '</tr>')
    return (f'<table><thead><tr>{"".join(f"<th>{html.escape(c)}</th>" for c in head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def plot_runs(log, metrics=('test_acc', 'train_loss'), figsize=(9, 3)):
    """Overlay every run of a RunLog, one panel per metric; returns the figure."""
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize)
    for ax, m in zip(list(axes) if len(metrics) > 1 else [axes], metrics):
        log.plot(m, ax=ax)
    fig.tight_layout()
    return fig


def describe(kw):
    """A one-line summary of a design, e.g. 'conv 6-16 k5 sigmoid avg | fc 120-84'."""
    extras = (' bn' if kw['batch_norm'] else '') + (f' drop{kw["dropout"]:g}' if kw['dropout'] else '')
    fc = '-'.join(map(str, kw['hidden'])) or 'none'
    ks = kw['kernel_sizes']
    k = str(ks[0]) if len(set(ks)) == 1 else '-'.join(map(str, ks))
    return (f'conv {"-".join(map(str, kw["channels"]))} k{k} {kw["activation"]} '
            f'{kw["pool"] or "nopool"}{extras} | fc {fc}')


# ---------------------------------------------------------------------------------------------- ablations
# lenet_plus's design (models.LENET_PLUS_DESIGN) and its training recipe, as settings an ablation can change.
PLUS_DESIGN = LENET_PLUS_DESIGN.to_dict()
PLUS_TRAINING = dict(optimizer='adam', lr=0.003, one_cycle=True, weight_decay=1e-4)
CHAPTER_DESIGN = dict(channels=(6, 16), kernel_sizes=(5, 5), paddings=(2, 0), strides=(1, 1), activation='sigmoid',
                      pool='avg', hidden=(120, 84), batch_norm=False, dropout=0.0)
# Each variant undoes ONE change of lenet_plus (design changes, training changes); the last is the chapter's LeNet.
ABLATIONS = {
    'lenet_plus, every change': ({}, {}),
    'undo ReLU (sigmoid)': ({'activation': 'sigmoid'}, {}),
    'undo max pooling (average)': ({'pool': 'avg'}, {}),
    'undo batch norm': ({'batch_norm': False}, {}),
    'undo dropout': ({'dropout': 0.0}, {}),
    "undo 3rd conv and widths (LeNet's 6-16 conv)": (
        {k: CHAPTER_DESIGN[k] for k in ('channels', 'kernel_sizes', 'paddings', 'strides')}, {}),
    'undo Adam + one-cycle (SGD lr 0.1)': ({}, {'optimizer': 'sgd', 'lr': 0.1, 'one_cycle': False, 'weight_decay': 0.0}),
    "the chapter's LeNet and recipe": (CHAPTER_DESIGN, {'optimizer': 'sgd', 'lr': 0.9, 'one_cycle': False,
                                                        'weight_decay': 0.0}),
}


def run_ablation(train_iter, test_iter, num_epochs, variants=ABLATIONS, seed=0, log=None, **train_kw):
    """Train every variant with the same seed, data order and epochs; return a RunLog (one run per variant)."""
    log = log or RunLog()
    for name, (design, training) in variants.items():
        kw, tr = {**PLUS_DESIGN, **design}, {**PLUS_TRAINING, **training}
        print(f'--- {name}: {describe(kw)}; {tr}')
        _, history = controlled_run(lambda: build_lenet(**kw), train_iter, test_iter, num_epochs, tr.pop('lr'),
                                    seed=seed, **tr, **train_kw)
        log.add(name, history, design=describe(kw), params=count_params(build_lenet(**kw)))
    return log


def ablation_table(log, reference=None):
    """HTML table of an ablation RunLog: each variant's best test accuracy and how far it falls below the
    reference run (the first one by default), biggest loss first."""
    rows = log.rows()
    if not rows:
        return '<p><i>No runs yet.</i></p>'
    ref = next((r for r in rows if r['name'] == reference), rows[0])
    rows.sort(key=lambda r: r['best test acc'] if r['best test acc'] == r['best test acc'] else -1)
    body = ''.join(
        f'<tr><td>{html.escape(r["name"])}</td><td>{html.escape(str(r.get("design", "")))}</td>'
        f'<td>{r.get("params", 0):,}</td><td>{r["best test acc"]:.3f}</td>'
        f'<td>{r["best test acc"] - ref["best test acc"]:+.3f}</td><td>{r["seconds"]:.0f}</td>'
        f'<td>{html.escape(r["stopped"])}</td></tr>' for r in rows)
    return ('<table><thead><tr><th>variant</th><th>design</th><th>params</th><th>best test acc</th>'
            f'<th>vs {html.escape(ref["name"])}</th><th>seconds</th><th>status</th></tr></thead>'
            f'<tbody>{body}</tbody></table>')


def main(argv=None):
    """Measure the ablation on Fashion-MNIST and save it as a RunLog (tools/measure_ablation.py runs this)."""
    import argparse
    from .data import load_data_fashion_mnist
    p = argparse.ArgumentParser(prog='tools/measure_ablation.py', description=main.__doc__)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--n-train', type=int, default=None, help='use only the first N training images')
    p.add_argument('--out', default='notebooks/results/ablation.json')
    args = p.parse_args(argv)
    train_iter, test_iter = load_data_fashion_mnist(128, seed=0, n_train=args.n_train)
    log = run_ablation(train_iter, test_iter, args.epochs, progress=False, log_epochs=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    log.save(args.out)
    print(f'wrote {args.out}')


# ---------------------------------------------------------------------------------------------- notebook 07
LENET5_MNIST_ERROR = 0.0095  # LeCun et al. 1998: LeNet-5's test error on MNIST (0.8% with distortions)


def try_mnist(batch_size=128, root=None, download=True, **kwargs):
    """Return (train_iter, test_iter, message); the iterators are None, and the message says how to get
    MNIST, when it is neither on this machine nor downloadable."""
    from .data import DataNotFoundError, load_data_mnist
    try:
        train_iter, test_iter = load_data_mnist(batch_size, root=root, download=download, **kwargs)
    except DataNotFoundError as e:
        return None, None, f'MNIST is not available, so the cells that need it will say "skipped".\n{e}'
    return train_iter, test_iter, (f'MNIST found: {train_iter.num_examples} training and '
                                   f'{test_iter.num_examples} test images from {train_iter.source}')


def dataset_table(log, models=('lenet', 'lenet_plus'), datasets=('Fashion-MNIST', 'MNIST')):
    """HTML table: one row per model, best test accuracy (and error) per dataset from a RunLog whose runs carry
    model= and dataset= settings; a missing run reads 'not measured here'. Adds LeNet-5's published MNIST error."""
    found = {(r['settings'].get('model'), r['settings'].get('dataset')): r['history'] for r in log.runs}

    def cell(h):
        if h is None or not h.epoch:
            return '<i>not measured here</i>'
        acc = max(h.test_acc)
        return f'{acc:.4f} ({100 * (1 - acc):.2f}% error, {len(h.epoch)} epochs, {h.seconds[-1]:.0f} s)'
    head = ''.join(f'<th>{html.escape(d)} test acc</th>' for d in datasets)
    body = ''.join(f'<tr><td>{html.escape(m)} (measured)</td>' + ''.join(f'<td>{cell(found.get((m, d)))}</td>'
                                                                          for d in datasets) + '</tr>'
                   for m in models)
    ref = ''.join(f'<td>{1 - LENET5_MNIST_ERROR:.4f} ({100 * LENET5_MNIST_ERROR:.2f}% error)</td>' if d == 'MNIST'
                  else '<td>-</td>' for d in datasets)
    body += f'<tr><td>LeNet-5, LeCun et al. 1998 (published, for reference)</td>{ref}</tr>'
    return f'<table><thead><tr><th>model</th>{head}</tr></thead><tbody>{body}</tbody></table>'
