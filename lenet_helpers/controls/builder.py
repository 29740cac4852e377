"""ModelBuilder (notebook 06): design a LeNet, see its shapes, train it on the RunControl, keep a leaderboard file."""
import html
from pathlib import Path

import ipywidgets as widgets

from ..experiments import controlled_run, describe
from ..files import check_writable_file
from ..html import error_html, message_html, shape_table_html
from ..models import ACTIVATIONS, Design, DesignError, check_net, count_params, layer_table
from ..recipes import CHAPTER_RECIPE, INITS, OPTIMIZERS, Recipe
from ..runs import RunLog
from .panels import Panel, lr_slider

PADDINGS = ('first layer only', 'every layer', 'none')


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


def design_from_controls(conv_layers=2, channels='6, 16', kernel_size=5, padding='first layer only',
                         activation='sigmoid', pool='avg', batch_norm=False, dropout=0.0, hidden='120, 84'):
    """The Design the builder's control values describe; DesignError when they clash."""
    ch = parse_ints(channels, 'output channels per conv layer')
    if len(ch) < conv_layers:
        raise DesignError(f'{conv_layers} conv layers need {conv_layers} channel counts, but "{channels}" gives '
                          f'{len(ch)}. Add numbers to the channels box or use fewer conv layers.')
    k = int(kernel_size)
    pad = {'first layer only': [k // 2] + [0] * (conv_layers - 1), 'every layer': [k // 2] * conv_layers,
           'none': [0] * conv_layers}[padding]
    return Design(channels=ch[:conv_layers], kernel_sizes=(k,) * conv_layers, paddings=tuple(pad),
                  strides=(1,) * conv_layers, activation=activation, pool=None if pool == 'none' else pool,
                  batch_norm=bool(batch_norm), dropout=float(dropout), hidden=parse_ints(hidden, 'fully connected widths'))


def design_html(net):
    """The shape table of a net as HTML, with its parameter count and multiply-adds per image."""
    rows = layer_table(net)
    return (f'<b>{count_params(net):,} parameters, {sum(r["macs"] for r in rows):,} multiply-adds per image</b>'
            + shape_table_html(rows))


class ModelBuilder(Panel):
    """Controls for a LeNet-style design and its recipe, a live shape table, and a leaderboard of every run.

    ``load_data(batch_size)`` returns (train_iter, test_iter) (wrap it in functools.lru_cache to load once).
    ``path`` names the leaderboard file (None: runs stay in the notebook only): runs saved there are loaded when the builder starts, every finished
    run is added to it, and saving merges, so rerunning the notebook never loses a saved run.
    """

    def __init__(self, load_data, epochs=3, path=None, seed=0, log=None):
        super().__init__(log)
        self.load_data, self.seed = load_data, seed
        s = {'style': {'description_width': '120px'}, 'layout': widgets.Layout(width='330px')}
        self.conv_layers = widgets.IntSlider(2, min=1, max=4, description='conv layers', **s)
        self.channels = widgets.Text('6, 16', description='channels per conv', **s)
        self.kernel_size = widgets.IntSlider(5, min=1, max=9, description='conv window', **s)
        self.padding = widgets.Dropdown(options=PADDINGS, description='padding (k//2)', **s)
        self.activation = widgets.Dropdown(options=list(ACTIVATIONS), value='sigmoid', description='activation', **s)
        self.pool = widgets.Dropdown(options=['avg', 'max', 'none'], description='pooling', **s)
        self.batch_norm = widgets.Checkbox(False, description='batch norm', indent=True, **s)
        self.dropout = widgets.FloatSlider(0.0, min=0.0, max=0.6, step=0.1, readout_format='.1f',
                                           description='dropout', **s)
        self.hidden = widgets.Text('120, 84', description='fc widths', **s)
        self.init = widgets.Dropdown(options=list(INITS), description='initialisation', **s)
        self.optimizer = widgets.Dropdown(options=list(OPTIMIZERS), description='optimizer', **s)
        self.one_cycle = widgets.Checkbox(False, description='one-cycle schedule', indent=True, **s)
        self.lr = lr_slider(0.9, width='330px', description_width='120px')
        self.epochs = widgets.IntSlider(epochs, min=1, max=20, description='epochs', **s)
        self.batch_size = widgets.Dropdown(options=[32, 64, 128, 256], value=128, description='batch size', **s)
        self.path = widgets.Text(str(path or ''), description='file', placeholder='e.g. leaderboard.json',
                                 **s)
        self.save_button = widgets.Button(description='Save', icon='save')
        self.load_button = widgets.Button(description='Load', icon='folder-open')
        self.save_button.on_click(lambda _: self.save())
        self.load_button.on_click(lambda _: self.load())
        self.runner.busy += [self.save_button, self.load_button]
        self.design = widgets.HTML(layout=widgets.Layout(min_width='420px', flex='1 1 420px'))
        self.design.add_class('lenet-design')
        self.message = widgets.HTML()
        self.message.add_class('lenet-builder-message')
        self.design_controls = [self.conv_layers, self.channels, self.kernel_size, self.padding, self.activation,
                                self.pool, self.batch_norm, self.dropout, self.hidden]
        for w in self.design_controls:
            w.observe(lambda change: self.update_design(), names='value')
        column = widgets.Layout(width='340px', flex='0 0 340px')
        design_box = widgets.VBox([widgets.HTML('<b>Design</b>')] + self.design_controls, layout=column)
        train_box = widgets.VBox([widgets.HTML('<b>Training</b>'), self.init, self.optimizer, self.one_cycle,
                                  self.lr, self.epochs, self.batch_size, self.train_button,
                                  widgets.HTML('<b>Leaderboard file</b>'), self.path,
                                  widgets.HBox([self.save_button, self.load_button])], layout=column)
        self.view = widgets.VBox([
            widgets.HBox([design_box, train_box, self.design], layout=widgets.Layout(flex_flow='row wrap',
                                                                                     grid_gap='8px 16px')),
            self.message, self.runner.view(), widgets.HTML('<b>Leaderboard</b>'), self.table, self.plot])
        self.view.add_class('lenet-model-builder')
        self.current = None  # the Design shown, or None when the controls describe one that cannot work
        self.update_design()
        if self.path.value.strip() and Path(self.path.value).is_file():
            self.load()
        self.refresh()

    def settings(self):
        """The Design the controls describe now (DesignError when it cannot work)."""
        return design_from_controls(
            conv_layers=self.conv_layers.value, channels=self.channels.value, kernel_size=self.kernel_size.value,
            padding=self.padding.value, activation=self.activation.value, pool=self.pool.value,
            batch_norm=self.batch_norm.value, dropout=self.dropout.value, hidden=self.hidden.value)

    def recipe(self):
        """The Recipe the training controls describe now."""
        return Recipe(optimizer=self.optimizer.value, lr=self.lr.value, epochs=self.epochs.value,
                      schedule='one-cycle' if self.one_cycle.value else 'constant', batch_size=self.batch_size.value,
                      init=self.init.value, weight_decay=CHAPTER_RECIPE.weight_decay)

    def update_design(self):
        """Rebuild the net from the controls and show its shape table, or a plain explanation if it cannot work."""
        try:
            design = self.settings()
            net = design.build()
            self.design.value = f'<b>{html.escape(describe(design))}</b><br>' + design_html(net)
            self.current = design
        except DesignError as e:
            self.current = None
            self.design.value = message_html(f'This design cannot work: {e}')
        except Exception as e:  # never a traceback in the middle of the lesson
            self.current = None
            self.design.value = error_html(e)
        self._train_allowed()

    def _train_allowed(self):
        ok = self.current is not None
        if not self.runner.running:
            self.train_button.disabled = not ok
        self.train_button.tooltip = '' if ok else 'The design cannot work (see the explanation); change it first.'

    def refresh(self):
        super().refresh()
        self._train_allowed()

    def train(self, wait=True):
        """Train the current design with the current recipe; the run joins the leaderboard and its file."""
        design = self.current
        if design is None:
            self.message.value = message_html('The design cannot work (see the explanation beside the controls); '
                                              'change it first.')
            return None
        path = self.path.value.strip()
        if path:
            try:
                check_writable_file(path, 'leaderboard')
            except ValueError as e:  # checked before training: never a finished run that cannot be saved
                self.message.value = message_html(f'{e}\nOr empty the leaderboard file box to keep runs only here.')
                return None
        self.message.value = ''
        recipe, seed, load_data = self.recipe(), self.seed, self.load_data

        def job(on_progress, stop):
            train_iter, test_iter = load_data(recipe.batch_size)
            return controlled_run(design.build, train_iter, test_iter, recipe=recipe, seed=seed, progress=False,
                                  on_progress=on_progress, stop=stop)
        run = self.runner.start(describe(design), job, design=design, recipe=recipe, num_epochs=recipe.epochs,
                                settings=dict(params=count_params(design.build()),
                                              optimizer=recipe.optimizer + (' 1cycle' if recipe.schedule == 'one-cycle'
                                                                            else ''),
                                              lr=recipe.lr, batch=recipe.batch_size, init=recipe.init),
                                wait=wait)
        return run

    def finished(self, run):
        """After each run: refresh, and add the run to the leaderboard file (merging, never overwriting)."""
        self.refresh()
        if self.path.value.strip():
            self.save()

    def save(self):
        """Merge the leaderboard into the file named in the path box (runs already there are kept)."""
        path = self.path.value.strip()
        try:
            n = self.log.save(path, merge=True)
            self.message.value = message_html(f'saved: {path} now holds {n} run(s).', 'info')
        except (OSError, ValueError) as e:
            self.message.value = message_html(f'Could not save the leaderboard to {path}: {e}')

    def load(self):
        """Add the runs stored in the file named in the path box; runs already here are not added twice."""
        path = self.path.value.strip()
        try:
            loaded = RunLog.load(path, skip_bad=True)
        except (OSError, ValueError) as e:
            self.message.value = message_html(f'Could not load the leaderboard: {e}')
            return 0
        added = self.log.merge(loaded)
        text = f'loaded {path}: {added} new run(s), {len(loaded) - added} already here.'
        if loaded.problems:
            text += (f'\n{len(loaded.problems)} entr{"y was" if len(loaded.problems) == 1 else "ies were"} refused:\n'
                     + '\n'.join(loaded.problems))
        self.message.value = message_html(text, 'warning' if loaded.problems else 'info')
        self.refresh()
        return added

