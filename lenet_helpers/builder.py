"""Notebooks 05-07's controls: the model builder with its leaderboard, the pooling lab, the data-set lab."""
import html
from pathlib import Path

import ipywidgets as widgets
import torch
from IPython.display import display
from torch import nn

from .explore import figure_png
from .experiments import (INITS, OPTIMIZERS, PLUS_TRAINING, controlled_run, dataset_table, describe, plot_runs,
                          results_table)
from .models import ACTIVATIONS, DesignError, build_lenet, count_params, evaluating, layer_table
from .runs import RunLog
from .training import History
from .widgets import message_html, shape_table_html


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


def design_html(net):
    """The shape table of a net as HTML, with its parameter count and multiply-adds per image."""
    rows = layer_table(net)
    return (f'<b>{count_params(net):,} parameters, {sum(r["macs"] for r in rows):,} multiply-adds per image</b>'
            + shape_table_html(rows))


def error_html(message):
    """A message box for a design that cannot work or a run that failed."""
    return message_html(f'Cannot do that: {message}')


def check_net(net, input_shape=(1, 1, 28, 28)):
    """Return the shape table rows of net, or raise DesignError saying in words which layer breaks and why."""
    X = torch.zeros(input_shape)
    with evaluating(net), torch.no_grad():
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
        recipe = dict(PLUS_TRAINING) if self.model.value == 'lenet_plus' else dict(optimizer='sgd', lr=0.9)
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
