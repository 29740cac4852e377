"""Notebooks 05-06: controlled comparisons, the model builder with its leaderboard, and ablations."""
import html
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from torch import nn

from .models import ACTIVATIONS, DesignError, build_lenet, count_params, layer_table
from .runs import RunLog
from .training import History, set_seed, train_ch6

OPTIMIZERS = ('sgd', 'momentum', 'adam')


def make_optimizer(net, name, lr, num_epochs=None, steps_per_epoch=None, weight_decay=0.0):
    """Return an optimizer for train_ch6(optimizer=...); with num_epochs and steps_per_epoch it follows
    a one-cycle schedule (warm up to lr, then anneal), stepped after every optimizer step."""
    if name == 'sgd':
        opt = torch.optim.SGD(net.parameters(), lr=lr, weight_decay=weight_decay)
    elif name == 'momentum':
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    elif name == 'adam':
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        raise ValueError(f'optimizer must be one of {", ".join(OPTIMIZERS)}, got {name!r}.')
    if num_epochs and steps_per_epoch:
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=num_epochs * steps_per_epoch)
        opt.register_step_post_hook(lambda *args: schedule.step() if schedule.last_epoch < schedule.total_steps else None)
        opt.schedule = schedule
    return opt


INITS = ('xavier', 'kaiming', 'pytorch default')


def initialise(net, init):
    """Initialise Conv2d and Linear weights: 'xavier' (the chapter's), 'kaiming' (for ReLU) or 'pytorch default'."""
    if init not in INITS:
        raise ValueError(f'init must be one of {", ".join(INITS)}, got {init!r}.')
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if init == 'xavier':
                nn.init.xavier_uniform_(m.weight)
            elif init == 'kaiming':
                nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
    return net


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


def figure_png(fig, close=True):
    """The PNG bytes of a matplotlib figure (for an ipywidgets Image); closes the figure."""
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format='png', bbox_inches='tight')
    if close:
        plt.close(fig)
    return buf.getvalue()


def plot_runs(log, metrics=('test_acc', 'train_loss'), figsize=(9, 3)):
    """Overlay every run of a RunLog, one panel per metric; returns the figure."""
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize)
    for ax, m in zip(list(axes) if len(metrics) > 1 else [axes], metrics):
        log.plot(m, ax=ax)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------- designs
def parse_ints(text, what):
    """'6, 16' -> (6, 16); an empty text -> (); anything else raises DesignError naming `what`."""
    parts = [p.strip() for p in str(text).replace(';', ',').split(',') if p.strip()]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise DesignError(f'{what}: write whole numbers separated by commas, like "6, 16"; got {text!r}.') from None
    if any(v < 1 for v in values):
        raise DesignError(f'{what}: every number must be at least 1; got {text!r}.')
    return values


def design_kwargs(conv_layers=2, channels='6, 16', kernel_size=5, padding='first layer only', activation='sigmoid',
                  pool='avg', batch_norm=False, dropout=0.0, hidden='120, 84'):
    """Turn the builder's control values into build_lenet keyword arguments; raise DesignError if they clash."""
    ch = parse_ints(channels, 'output channels per conv layer')
    if len(ch) < conv_layers:
        raise DesignError(f'{conv_layers} conv layers need {conv_layers} channel counts, but "{channels}" gives '
                          f'{len(ch)}. Add numbers to the channels box or use fewer conv layers.')
    ch = ch[:conv_layers]
    k = int(kernel_size)
    pad = {'first layer only': [k // 2] + [0] * (conv_layers - 1), 'every layer': [k // 2] * conv_layers,
           'none': [0] * conv_layers}[padding]
    return dict(channels=ch, kernel_sizes=(k,) * conv_layers, paddings=tuple(pad), strides=(1,) * conv_layers,
                activation=activation, pool=None if pool == 'none' else pool, batch_norm=bool(batch_norm),
                dropout=float(dropout), hidden=parse_ints(hidden, 'fully connected widths'))


def describe(kw):
    """A one-line summary of a design, e.g. 'conv 6-16 k5 sigmoid avg | fc 120-84'."""
    extras = (' bn' if kw['batch_norm'] else '') + (f' drop{kw["dropout"]:g}' if kw['dropout'] else '')
    fc = '-'.join(map(str, kw['hidden'])) or 'none'
    ks = kw['kernel_sizes']
    k = str(ks[0]) if len(set(ks)) == 1 else '-'.join(map(str, ks))
    return (f'conv {"-".join(map(str, kw["channels"]))} k{k} {kw["activation"]} '
            f'{kw["pool"] or "nopool"}{extras} | fc {fc}')


def design_html(net):
    """The shape table of a net as HTML, with its parameter count and multiply-adds per image."""
    rows = layer_table(net)
    body = ''.join(f'<tr><td>{r["layer"]}</td><td>{"x".join(map(str, r["output"][1:]))}</td>'
                   f'<td>{r["params"]:,}</td><td>{r["macs"]:,}</td></tr>' for r in rows)
    macs = sum(r['macs'] for r in rows)
    return (f'<b>{count_params(net):,} parameters, {macs:,} multiply-adds per image</b>'
            f'<table><thead><tr><th>layer</th><th>output (C x H x W)</th><th>params</th><th>mult-adds</th></tr>'
            f'</thead><tbody>{body}</tbody></table>')


def error_html(message):
    """A message box for a design that cannot work or a run that failed."""
    return f'<div style="color:#a00"><b>Cannot do that:</b> {html.escape(str(message))}</div>'


def check_net(net, input_shape=(1, 1, 28, 28)):
    """Return the shape table rows of net, or raise DesignError saying in words which layer breaks and why."""
    X = torch.zeros(input_shape)
    net.eval()
    with torch.no_grad():
        for i, layer in enumerate(net):
            shape = tuple(X.shape[1:])
            if isinstance(layer, nn.Linear) and X.dim() == 2 and X.shape[1] != layer.in_features:
                raise DesignError(f'layer {i} (Linear) expects {layer.in_features} inputs, but the layer before it '
                                  f'gives {X.shape[1]} values per image. Make it nn.Linear({X.shape[1]}, '
                                  f'{layer.out_features}).')
            try:
                X = layer(X)
            except RuntimeError as e:
                raise DesignError(f'layer {i} ({type(layer).__name__}) cannot take an input of shape '
                                  f'{"x".join(map(str, shape))}: {str(e).splitlines()[0]}') from None
    net.train()
    return layer_table(net, input_shape)


# ---------------------------------------------------------------------------------------------- the builder
class ModelBuilder:
    """Controls for a LeNet-style design and its training, a live shape table, and a leaderboard of every run.

    ``data_fn(batch_size)`` returns (train_iter, test_iter). Call ``show()`` to display it; the callbacks
    (``update_design``, ``train``, ``save``, ``load``) can also be called directly.
    """

    def __init__(self, data_fn, log=None, epochs=3, path='leaderboard.json', seed=0):
        self.data_fn, self.log, self.seed = data_fn, log or RunLog(), seed
        self._data = {}
        s = {'style': {'description_width': '150px'}, 'layout': widgets.Layout(width='340px')}
        self.conv_layers = widgets.IntSlider(2, min=1, max=4, description='conv layers', **s)
        self.channels = widgets.Text('6, 16', description='channels per conv', **s)
        self.kernel_size = widgets.IntSlider(5, min=1, max=9, description='conv window', **s)
        self.padding = widgets.Dropdown(options=['first layer only', 'every layer', 'none'],
                                        description='padding (k//2)', **s)
        self.activation = widgets.Dropdown(options=list(ACTIVATIONS), value='sigmoid', description='activation', **s)
        self.pool = widgets.Dropdown(options=['avg', 'max', 'none'], description='pooling', **s)
        self.batch_norm = widgets.Checkbox(False, description='batch norm', **s)
        self.dropout = widgets.FloatSlider(0.0, min=0.0, max=0.6, step=0.1, description='dropout', **s)
        self.hidden = widgets.Text('120, 84', description='fc widths', **s)
        self.init = widgets.Dropdown(options=list(INITS), description='initialisation', **s)
        self.optimizer = widgets.Dropdown(options=list(OPTIMIZERS), description='optimizer', **s)
        self.one_cycle = widgets.Checkbox(False, description='one-cycle schedule', **s)
        self.lr = widgets.FloatLogSlider(0.9, base=10, min=-4, max=0.5, step=0.1, readout_format='.4f',
                                         description='learning rate', **s)
        self.epochs = widgets.IntSlider(epochs, min=1, max=20, description='epochs', **s)
        self.batch_size = widgets.Dropdown(options=[32, 64, 128, 256], value=128, description='batch size', **s)
        self.train_button = widgets.Button(description='Train', button_style='success')
        self.path = widgets.Text(path, description='leaderboard file', **s)
        self.save_button, self.load_button = widgets.Button(description='Save'), widgets.Button(description='Load')
        self.design = widgets.HTML()
        self.message = widgets.HTML()
        self.board = widgets.HTML(self.log.to_html())
        self.progress = widgets.Output()
        self.plot = widgets.Image(format='png', layout=widgets.Layout(display='none', max_width='900px'))
        self.design_controls = [self.conv_layers, self.channels, self.kernel_size, self.padding, self.activation,
                                self.pool, self.batch_norm, self.dropout, self.hidden]
        for w in self.design_controls:
            w.observe(lambda change: self.update_design(), names='value')
        self.train_button.on_click(lambda b: self.train())
        self.save_button.on_click(lambda b: self.save())
        self.load_button.on_click(lambda b: self.load())
        self.net, self.kwargs = None, None
        self.update_design()

    def settings(self):
        """The current design as build_lenet keyword arguments (raises DesignError)."""
        return design_kwargs(conv_layers=self.conv_layers.value, channels=self.channels.value,
                             kernel_size=self.kernel_size.value, padding=self.padding.value,
                             activation=self.activation.value, pool=self.pool.value,
                             batch_norm=self.batch_norm.value, dropout=self.dropout.value, hidden=self.hidden.value)

    def update_design(self):
        """Rebuild the net from the controls and show its shape table, or a plain explanation if it cannot work."""
        try:
            self.kwargs = self.settings()
            self.net = build_lenet(**self.kwargs)
            self.design.value = f'<b>{html.escape(describe(self.kwargs))}</b><br>' + design_html(self.net)
            self.train_button.disabled = False
        except DesignError as e:
            self.net = None
            self.design.value = error_html(e)
            self.train_button.disabled = True

    def data(self, batch_size):
        if batch_size not in self._data:
            self._data[batch_size] = self.data_fn(batch_size)
        return self._data[batch_size]

    def train(self):
        """Train the current design; every run, finished or not, goes into the leaderboard."""
        if self.net is None:
            self.message.value = error_html('the design cannot work (see the explanation above); change it first.')
            return None
        kw, self.message.value = dict(self.kwargs), 'training ...'
        self.train_button.disabled = True
        history = History(stopped='failed')
        try:
            train_iter, test_iter = self.data(self.batch_size.value)
            with self.progress:
                self.progress.clear_output()
                _, history = controlled_run(lambda: build_lenet(**kw), train_iter, test_iter, self.epochs.value,
                                            self.lr.value, seed=self.seed, optimizer=self.optimizer.value,
                                            one_cycle=self.one_cycle.value, init=self.init.value)
            self.message.value = html.escape(history.message or f'{history.stopped}.')
        except Exception as e:  # shown, and the run is still recorded with its status
            history.message = f'{type(e).__name__}: {e}'
            self.message.value = error_html(history.message)
        finally:
            self.train_button.disabled = False
        name = self.log.add(describe(kw), history, params=count_params(build_lenet(**kw)),
                            optimizer=self.optimizer.value + (' 1cycle' if self.one_cycle.value else ''),
                            lr=round(self.lr.value, 5), batch=self.batch_size.value, init=self.init.value)
        self.refresh()
        return name

    def refresh(self):
        """Redraw the leaderboard table and the overlaid curves."""
        self.board.value = self.log.to_html(sort_by='best test acc')
        self.plot.value = figure_png(plot_runs(self.log)) if len(self.log) else b''
        self.plot.layout.display = None if len(self.log) else 'none'

    def save(self):
        """Write the leaderboard to the file named in the path box."""
        try:
            Path(self.path.value).parent.mkdir(parents=True, exist_ok=True)
            self.log.save(self.path.value)
            self.message.value = html.escape(f'saved {len(self.log)} run(s) to {self.path.value}')
        except OSError as e:
            self.message.value = error_html(f'could not write {self.path.value}: {e}')

    def load(self):
        """Add the runs stored in the file named in the path box to the leaderboard."""
        try:
            loaded = RunLog.load(self.path.value)
        except (OSError, ValueError) as e:
            self.message.value = error_html(f'could not read {self.path.value}: {e}')
            return
        for r in loaded.runs:
            self.log.add(r['name'], r['history'], **r['settings'])
        self.message.value = html.escape(f'loaded {len(loaded)} run(s) from {self.path.value}')
        self.refresh()

    def widget(self):
        """All controls in one place, with the design on the right and the results below."""
        design_box = widgets.VBox([widgets.HTML('<b>Design</b>')] + self.design_controls)
        train_box = widgets.VBox([widgets.HTML('<b>Training</b>'), self.init, self.optimizer, self.one_cycle,
                                  self.lr, self.epochs, self.batch_size, self.train_button,
                                  widgets.HTML('<b>Leaderboard file</b>'), self.path,
                                  widgets.HBox([self.save_button, self.load_button])])
        return widgets.VBox([widgets.HBox([design_box, train_box, self.design]), self.message, self.progress,
                             self.board, self.plot])

    def show(self):
        display(self.widget())


# ---------------------------------------------------------------------------------------------- notebook 05
POOL_CLASSES = {'max': nn.MaxPool2d, 'avg': nn.AvgPool2d}


class ComparisonLab:
    """Pick a pooling and an activation, press Run: the run trains with a fixed seed and data order and joins
    the comparison table and the overlaid curves. ``net_fn(pool_class, activation_class)`` builds the net."""

    def __init__(self, net_fn, train_iter, test_iter, epochs=2, lr=0.9, seed=0, log=None):
        self.net_fn, self.train_iter, self.test_iter, self.seed = net_fn, train_iter, test_iter, seed
        self.log = log or RunLog()
        s = {'style': {'description_width': '110px'}, 'layout': widgets.Layout(width='320px')}
        self.pool = widgets.Dropdown(options=list(POOL_CLASSES), description='pooling', **s)
        self.activation = widgets.Dropdown(options=list(ACTIVATIONS), value='sigmoid', description='activation', **s)
        self.lr = widgets.FloatLogSlider(lr, base=10, min=-3, max=0.5, step=0.1, readout_format='.3f',
                                         description='learning rate', **s)
        self.epochs = widgets.IntSlider(epochs, min=1, max=20, description='epochs', **s)
        self.run_button = widgets.Button(description='Run', button_style='success')
        self.clear_button = widgets.Button(description='Clear table')
        self.message, self.table = widgets.HTML(), widgets.HTML(results_table(self.log))
        self.progress = widgets.Output()
        self.plot = widgets.Image(format='png', layout=widgets.Layout(display='none', max_width='900px'))
        self.run_button.on_click(lambda b: self.run())
        self.clear_button.on_click(lambda b: self.clear())

    def run(self):
        """Train the chosen variant; the run is recorded even when it diverges, is interrupted or fails."""
        pool, act = POOL_CLASSES[self.pool.value], ACTIVATIONS[self.activation.value]
        name = f'{self.activation.value} + {self.pool.value} pool, lr {self.lr.value:.3g}'
        history = History(stopped='failed')
        self.message.value = 'training ...'
        try:
            with self.progress:
                self.progress.clear_output()
                _, history = controlled_run(lambda: self.net_fn(pool, act), self.train_iter, self.test_iter,
                                            self.epochs.value, self.lr.value, seed=self.seed)
            self.message.value = html.escape(history.message or f'{name}: {history.stopped}.')
        except Exception as e:  # e.g. the exercise's function is not written yet
            history.message = f'{type(e).__name__}: {e}'
            self.message.value = error_html(history.message)
        self.log.add(name, history, pool=self.pool.value, activation=self.activation.value, lr=self.lr.value)
        self.refresh()
        return history

    def clear(self):
        """Forget every run."""
        self.log.runs.clear()
        self.refresh()

    def refresh(self):
        self.table.value = results_table(self.log)
        self.plot.value = figure_png(plot_runs(self.log)) if len(self.log) else b''
        self.plot.layout.display = None if len(self.log) else 'none'

    def widget(self):
        controls = widgets.VBox([self.pool, self.activation, self.lr, self.epochs,
                                 widgets.HBox([self.run_button, self.clear_button])])
        return widgets.VBox([controls, self.message, self.progress, self.table, self.plot])

    def show(self):
        display(self.widget())


# ---------------------------------------------------------------------------------------------- ablations
# lenet_plus's design (models.lenet_plus) and its training recipe, as settings that an ablation can change.
PLUS_DESIGN = dict(channels=(16, 32, 64), kernel_sizes=(5, 3, 3), paddings=(2, 1, 1), strides=(1, 1, 1),
                   activation='relu', pool='max', hidden=(128,), batch_norm=True, dropout=0.2)
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


class DatasetLab:
    """Pick a model and a data set, press Train: the run joins a RunLog and the per-dataset table.

    ``datasets`` maps a name to (train_iter, test_iter), or to None for a data set that is not available here.
    """

    def __init__(self, datasets, log=None, epochs=2, seed=0):
        from .models import MODELS
        self.datasets, self.log, self.seed = datasets, log or RunLog(), seed
        s = {'style': {'description_width': '80px'}, 'layout': widgets.Layout(width='300px')}
        self.model = widgets.Dropdown(options=['lenet', 'lenet_plus'], description='model', **s)
        self.dataset = widgets.Dropdown(options=list(datasets), description='data set', **s)
        self.epochs = widgets.IntSlider(epochs, min=1, max=20, description='epochs', **s)
        self.train_button = widgets.Button(description='Train', button_style='success')
        self.message, self.table = widgets.HTML(), widgets.HTML(dataset_table(self.log, datasets=list(datasets)))
        self.progress = widgets.Output()
        self.models = MODELS
        self.train_button.on_click(lambda b: self.train())

    def train(self):
        """Train the chosen model on the chosen data set with its recipe (lenet: SGD 0.9; lenet_plus: Adam 0.003)."""
        data = self.datasets[self.dataset.value]
        if data is None:
            self.message.value = error_html(f'{self.dataset.value} is not available on this machine; see the '
                                            f'message at the top of the notebook for how to get it.')
            return None
        recipe = (dict(optimizer='adam', lr=0.003, one_cycle=True, weight_decay=1e-4)
                  if self.model.value == 'lenet_plus' else dict(optimizer='sgd', lr=0.9))
        history = History(stopped='failed')
        try:
            with self.progress:
                self.progress.clear_output()
                _, history = controlled_run(self.models[self.model.value], *data, self.epochs.value,
                                            recipe.pop('lr'), seed=self.seed, **recipe)
            self.message.value = html.escape(history.message or f'{history.stopped}.')
        except Exception as e:
            history.message = f'{type(e).__name__}: {e}'
            self.message.value = error_html(history.message)
        self.log.add(f'{self.model.value} on {self.dataset.value}', history, model=self.model.value,
                     dataset=self.dataset.value)
        self.table.value = dataset_table(self.log, datasets=list(self.datasets))
        return history

    def widget(self):
        return widgets.VBox([widgets.HBox([self.model, self.dataset, self.epochs, self.train_button]),
                             self.message, self.progress, self.table])

    def show(self):
        display(self.widget())
