"""The training panels: TrainingPanel (notebook 04), ComparisonLab (05), DatasetLab (07), all on one RunControl."""
import io

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..experiments import controlled_run
from ..html import dataset_table, message_html, results_table, runs_table
from ..models import ACTIVATIONS, CHAPTER_DESIGN, LENET_PLUS_DESIGN, POOLS
from ..recipes import CHAPTER_RECIPE, PLUS_RECIPE
from ..runs import RunLog
from ..training import try_gpu
from .base import Control
from .runner import RunControl

# Every learning rate a slider offers, exactly: 0.9 stays 0.9 (a log slider would land on 1.0).
LEARNING_RATES = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 0.9, 1.5, 3.0, 5.0, 10.0)
WIDE = {'description_width': '110px'}
BOX = widgets.Layout(width='340px')


def lr_slider(value, description='learning rate', width='340px', description_width='110px'):
    """A slider over LEARNING_RATES (plus value), showing and returning exact values."""
    options = sorted(set(LEARNING_RATES) | {value})
    return widgets.SelectionSlider(options=[(f'{v:g}', v) for v in options], value=value, description=description,
                                   continuous_update=False, style={'description_width': description_width},
                                   layout=widgets.Layout(width=width))


def runs_png(log, metrics=('test_acc', 'train_loss'), px=(820, 260), dpi=100):
    """Every run of a RunLog overlaid, one panel per metric, as PNG bytes drawn at its display size."""
    fig = Figure(figsize=(px[0] / dpi, px[1] / dpi), dpi=dpi)
    for i, m in enumerate(metrics, 1):
        log.plot(m, ax=fig.add_subplot(1, len(metrics), i))
    for ax in fig.axes:
        ax.tick_params(labelsize=9), ax.xaxis.label.set_size(9), ax.yaxis.label.set_size(9)
        if ax.get_legend():
            ax.get_legend().remove()
    if len(log):
        handles, labels = fig.axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc='lower center', ncol=min(len(labels), 3), fontsize=9, frameon=False)
        fig.subplots_adjust(bottom=0.2 + 0.09 * ((len(labels) - 1) // 3 + 1), wspace=0.3, left=0.08, right=0.98)
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=dpi)
    return buf.getvalue()


class Panel(Control):
    """What the panels share: a Train button, a RunControl, a table and the overlaid curves of every run."""
    train_label = 'Train'

    def __init__(self, log=None):
        self.train_button = widgets.Button(description=self.train_label, icon='play', button_style='primary')
        self.train_button.add_class('lenet-train')
        self.train_button.on_click(lambda _: self.train(wait=False))
        self.runner = RunControl(log if log is not None else RunLog(), busy=[self.train_button],
                                 on_finish=lambda run: self.finished(run))
        self.table = widgets.HTML()
        self.table.add_class('lenet-runs')
        self.plot = widgets.Image(format='png', layout=widgets.Layout(display='none', max_width='100%'))

    @property
    def log(self):
        """The RunLog of every run of this panel."""
        return self.runner.log

    @property
    def runs(self):
        return self.runner.log

    @property
    def nets(self):
        """Trained models by run name."""
        return {run.name: self.runner.nets[run.id] for run in self.log if run.id in self.runner.nets}

    def stop(self):
        """Stop the run that is training (as the Stop button does)."""
        self.runner.stop()

    def wait(self, timeout=None):
        """Wait for the run that is training; return its Run."""
        return self.runner.wait(timeout)

    def finished(self, run):
        """Called (in the run's thread) when a run ends: redraw the table."""
        self.refresh()

    def table_html(self):
        return runs_table(self.log, sort_by='best test acc')

    def refresh(self):
        """Redraw the run table and the overlaid curves."""
        self.table.value = self.table_html()
        self.plot.value = runs_png(self.log) if len(self.log) else b''
        self.plot.layout.display = None if len(self.log) else 'none'


class TrainingPanel(Panel):
    """Learning rate, epochs, batch size, device and seed, Train and Stop, a live curve, and every run compared.

    ``load_data(batch_size)`` returns (train_iter, test_iter); ``make_net()`` returns a fresh model.
    """

    def __init__(self, load_data, make_net, lr=0.9, epochs=10, batch_size=128, seed=0, log=None):
        super().__init__(log)
        self.load_data, self.make_net = load_data, make_net
        devices = list(dict.fromkeys([str(try_gpu()), 'cpu']))
        self.lr = lr_slider(lr)
        self.epochs = widgets.IntSlider(value=epochs, min=1, max=30, description='epochs', style=WIDE, layout=BOX)
        self.batch_size = widgets.Dropdown(options=sorted({32, 64, 128, 256, 512, batch_size}), value=batch_size,
                                           description='batch size', style=WIDE, layout=BOX)
        self.device = widgets.Dropdown(options=devices, value=devices[0], description='device', style=WIDE, layout=BOX)
        self.seed = widgets.IntText(value=seed, description='seed', style=WIDE, layout=BOX)
        settings = widgets.HBox([widgets.VBox([self.lr, self.epochs, self.batch_size]),
                                 widgets.VBox([self.device, self.seed, self.train_button])],
                                layout=widgets.Layout(flex_flow='row wrap'))
        self.view = widgets.VBox([settings, self.runner.view(), widgets.HTML('<b>All runs</b>'), self.table,
                                  self.plot])
        self.view.add_class('lenet-training-panel')
        self.refresh()

    def train(self, wait=True):
        """Train a fresh model with the settings shown now; return its Run (None when a run is going)."""
        lr, epochs, batch_size = self.lr.value, self.epochs.value, self.batch_size.value
        device, seed = self.device.value, self.seed.value
        recipe = CHAPTER_RECIPE.replace(lr=lr, epochs=epochs, batch_size=batch_size)
        load_data, make_net = self.load_data, self.make_net

        def job(on_progress, stop):
            train_iter, test_iter = load_data(batch_size)
            return controlled_run(make_net, train_iter, test_iter, recipe=recipe, seed=seed, device=device,
                                  progress=False, on_progress=on_progress, stop=stop)
        name = f'run {len(self.log) + 1}: lr {lr:g}, {epochs} epoch{"s" if epochs != 1 else ""}'
        return self.runner.start(name, job, settings=dict(lr=lr, epochs=epochs, batch_size=batch_size,
                                                          device=device, seed=seed),
                                 recipe=recipe, num_epochs=epochs, wait=wait)

    def add(self, name, history, **settings):
        """Put a run trained elsewhere (e.g. by the chapter's own cell) into the table; return its Run."""
        run = self.log.add(name, history, **settings)
        self.refresh()
        return run


class ComparisonLab(Panel):
    """Pick a pooling and an activation, press Train: the run trains with a fixed seed and data order and joins
    the comparison table. ``make_net(pool_class, activation_class)`` builds the net; ``load_data(batch_size)``
    returns (train_iter, test_iter)."""

    def __init__(self, make_net, load_data, lr=0.9, epochs=2, batch_size=128, seed=0, log=None):
        super().__init__(log)
        self.make_net, self.load_data, self.batch_size, self.seed = make_net, load_data, batch_size, seed
        self.pool = widgets.Dropdown(options=list(POOLS), description='pooling', style=WIDE, layout=BOX)
        self.activation = widgets.Dropdown(options=list(ACTIVATIONS), value='sigmoid', description='activation',
                                           style=WIDE, layout=BOX)
        self.lr = lr_slider(lr)
        self.epochs = widgets.IntSlider(epochs, min=1, max=20, description='epochs', style=WIDE, layout=BOX)
        self.clear_button = widgets.Button(description='Clear table', icon='trash')
        self.clear_button.on_click(lambda _: self.clear())
        self.runner.busy.append(self.clear_button)
        controls = widgets.HBox([widgets.VBox([self.pool, self.activation]), widgets.VBox([self.lr, self.epochs]),
                                 widgets.VBox([self.train_button, self.clear_button])],
                                layout=widgets.Layout(flex_flow='row wrap'))
        self.view = widgets.VBox([controls, self.runner.view(), self.table, self.plot])
        self.view.add_class('lenet-comparison-lab')
        self.refresh()

    def table_html(self):
        return results_table(self.log)

    def train(self, wait=True):
        """Train the chosen variant; the run is recorded even when it diverges, is stopped or fails."""
        pool, activation, lr, epochs = self.pool.value, self.activation.value, self.lr.value, self.epochs.value
        recipe = CHAPTER_RECIPE.replace(lr=lr, epochs=epochs, batch_size=self.batch_size)
        make_net, load_data, seed, batch_size = self.make_net, self.load_data, self.seed, self.batch_size

        def job(on_progress, stop):
            train_iter, test_iter = load_data(batch_size)
            return controlled_run(lambda: make_net(POOLS[pool], ACTIVATIONS[activation]), train_iter, test_iter,
                                  recipe=recipe, seed=seed, progress=False, on_progress=on_progress, stop=stop)
        return self.runner.start(f'{activation} + {pool} pool, lr {lr:g}', job,
                                 settings=dict(pool=pool, activation=activation, lr=lr), recipe=recipe,
                                 num_epochs=epochs, wait=wait)

    def clear(self):
        """Forget every run."""
        if self.runner.running:
            self.runner.say('A run is training: stop it before clearing the table.', 'warning')
            return
        self.log.clear()
        self.refresh()


class DatasetLab(Panel):
    """Pick a model and a data set, press Train: the run joins the per-data-set table.

    ``datasets`` maps a name to (train_iter, test_iter), or to None for a data set that is not available here.
    lenet trains with the chapter's recipe, lenet_plus with PLUS_RECIPE; ``epochs`` replaces their epochs.
    """
    MODELS = {'lenet': (CHAPTER_DESIGN, CHAPTER_RECIPE), 'lenet_plus': (LENET_PLUS_DESIGN, PLUS_RECIPE)}

    def __init__(self, datasets, epochs=2, seed=0, log=None):
        super().__init__(log)
        self.datasets, self.seed = datasets, seed
        s = {'style': {'description_width': '80px'}, 'layout': widgets.Layout(width='260px')}
        self.model = widgets.Dropdown(options=list(self.MODELS), description='model', **s)
        self.dataset = widgets.Dropdown(options=list(datasets), description='data set', **s)
        self.epochs = widgets.IntSlider(epochs, min=1, max=20, description='epochs', **s)
        self.message = widgets.HTML()
        self.view = widgets.VBox([widgets.HBox([self.model, self.dataset, self.epochs, self.train_button],
                                               layout=widgets.Layout(flex_flow='row wrap')),
                                  self.message, self.runner.view(), self.table])
        self.view.add_class('lenet-dataset-lab')
        self.refresh()

    def table_html(self):
        return dataset_table(self.log, datasets=list(self.datasets))

    def refresh(self):
        self.table.value = self.table_html()

    def train(self, wait=True):
        """Train the chosen model on the chosen data set with its recipe; return the Run (None if refused)."""
        model, dataset, epochs, seed = self.model.value, self.dataset.value, self.epochs.value, self.seed
        data = self.datasets[dataset]
        if data is None:
            self.message.value = message_html(f'{dataset} is not available on this machine; see the message at '
                                              f'the top of the notebook for how to get it.')
            return None
        self.message.value = ''
        design, recipe = self.MODELS[model]
        recipe = recipe.replace(epochs=epochs)

        def job(on_progress, stop):
            return controlled_run(design.build, *data, recipe=recipe, seed=seed, progress=False,
                                  on_progress=on_progress, stop=stop)
        return self.runner.start(f'{model} on {dataset}', job, settings=dict(model=model, dataset=dataset),
                                 design=design, recipe=recipe, num_epochs=epochs, wait=wait)
