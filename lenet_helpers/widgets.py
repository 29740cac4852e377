"""The notebooks' controls: shape calculator, data browser, training panel, confusion-matrix explorer.

Each control is a small class holding its widgets; ``.widget`` is what a notebook displays. Every
callback shows its result (or a plain message when something goes wrong) inside the control.
"""
import html

import ipywidgets as w
import matplotlib.pyplot as plt

from . import explore
from .data import FASHION_MNIST_CLASSES
from .models import DesignError, build_lenet, layer_table
from .runs import RunLog
from .training import History, set_seed, train_ch6, try_gpu

CHAPTER_FLATTEN = 400  # what the chapter's LeNet feeds its first Linear layer
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 0.9, 1.5, 3.0, 5.0, 10.0)


def message_html(text, kind='warning'):
    """A boxed plain-language message (kind: 'warning' or 'info')."""
    color = {'warning': '#fff4e5;border-left:4px solid #e8a33d', 'info': '#eef5ff;border-left:4px solid #4a8'}
    return (f'<div style="background:{color[kind]};padding:6px 10px;white-space:pre-wrap">'
            f'{html.escape(text)}</div>')


def error_html(e):
    """Show an unexpected exception as a message instead of a traceback."""
    return message_html(f'Something went wrong: {type(e).__name__}: {e}\nChange the setting back, or '
                        f'rerun the cell that made this control.')


BOLD = ' style="font-weight:bold"'
TD = 'style="padding:2px 10px;border-bottom:1px solid #ddd;text-align:{}"'
TABLE_CSS = ('<style>.lenet-runs table{border-collapse:collapse}.lenet-runs td,.lenet-runs th'
             '{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}</style>')


def shape_table_html(rows):
    """An HTML table of layer_table rows with totals; the Flatten row (what feeds the dense layers) in bold."""
    left, right = TD.format('left'), TD.format('right')
    head = (f'<tr><th {left}>#</th><th {left}>layer</th><th {left}>output shape</th>'
            f'<th {right}>parameters</th><th {right}>multiply-adds</th></tr>')
    body = ''.join(
        f'<tr{BOLD if r["layer"] == "Flatten" else ""}><td {left}>{i}</td><td {left}>{r["layer"]}</td>'
        f'<td {left}>{" x ".join(map(str, r["output"]))}</td>'
        f'<td {right}>{r["params"]:,}</td><td {right}>{r["macs"]:,}</td></tr>' for i, r in enumerate(rows, 1))
    total = (f'<tr><th {left}></th><th {left}>total</th><th {left}></th>'
             f'<th {right}>{sum(r["params"] for r in rows):,}</th>'
             f'<th {right}>{sum(r["macs"] for r in rows):,}</th></tr>')
    return f'<table style="border-collapse:collapse">{head}{body}{total}</table>'


class ShapeCalculator:
    """Settings of a two-conv-layer LeNet; every change rebuilds the real model and its shape table."""

    CHAPTER = dict(input_size=28, c1=6, k1=5, p1=2, s1=1, c2=16, k2=5, p2=0, s2=1, pool='avg', pool_size=2)

    def __init__(self):
        c = self.CHAPTER
        slider = lambda v, lo, hi, d: w.IntSlider(value=v, min=lo, max=hi, description=d,
                                                 continuous_update=False,
                                                 style={'description_width': '110px'})
        self.controls = {
            'input_size': slider(c['input_size'], 8, 64, 'input size'),
            'c1': slider(c['c1'], 1, 64, 'conv1 channels'), 'k1': slider(c['k1'], 1, 11, 'conv1 kernel'),
            'p1': slider(c['p1'], 0, 5, 'conv1 padding'), 's1': slider(c['s1'], 1, 4, 'conv1 stride'),
            'c2': slider(c['c2'], 1, 64, 'conv2 channels'), 'k2': slider(c['k2'], 1, 11, 'conv2 kernel'),
            'p2': slider(c['p2'], 0, 5, 'conv2 padding'), 's2': slider(c['s2'], 1, 4, 'conv2 stride'),
            'pool': w.Dropdown(options=[('average', 'avg'), ('max', 'max'), ('none', None)],
                               value=c['pool'], description='pooling', style={'description_width': '110px'}),
            'pool_size': slider(c['pool_size'], 1, 4, 'pool size'),
        }
        self.controls['k1'].add_class('lenet-conv1-kernel')
        self.reset_button = w.Button(description="chapter's LeNet", icon='undo')
        self.reset_button.on_click(lambda _: self.reset())
        self.summary = w.HTML()
        self.table = w.HTML()
        self.table.add_class('lenet-shape-table')
        self.net = None
        for control in self.controls.values():
            control.observe(lambda change: self.update(), names='value')
        k = self.controls
        column = lambda *names: w.VBox([k[n] for n in names])
        self.widget = w.VBox([
            w.HBox([column('input_size', 'pool', 'pool_size'), column('c1', 'k1', 'p1', 's1'),
                    column('c2', 'k2', 'p2', 's2')]),
            self.reset_button, self.summary, self.table])
        self.widget.add_class('lenet-shape-calculator')
        self.update()

    def settings(self):
        """The current control values as a dict."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values):
        """Change several controls, updating the table once."""
        self._hold = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._hold = False
        self.update()

    def reset(self):
        """Go back to the chapter's LeNet."""
        self.set(**self.CHAPTER)

    def update(self):
        """Rebuild the model from the controls and show its table, or say why it cannot be built."""
        if getattr(self, '_hold', False):
            return
        s = self.settings()
        self.net = None
        try:
            net = build_lenet(input_size=s['input_size'], channels=(s['c1'], s['c2']),
                              kernel_sizes=(s['k1'], s['k2']), paddings=(s['p1'], s['p2']),
                              strides=(s['s1'], s['s2']), pool=s['pool'], pool_size=s['pool_size'])
            rows = layer_table(net, (1, 1, s['input_size'], s['input_size']))
        except DesignError as e:
            self.summary.value = ''
            self.table.value = message_html(f'This design cannot work. {e}')
            return
        except RuntimeError as e:
            self.summary.value = ''
            self.table.value = message_html(
                f'PyTorch refused these settings: {e}\nUsually a padding larger than half the kernel or '
                f'a map smaller than the kernel. Reduce the padding or the kernel size, or press '
                f'"chapter\'s LeNet" to start again.')
            return
        except Exception as e:  # never a silent failure or a traceback in the middle of the lesson
            self.summary.value, self.table.value = '', error_html(e)
            return
        self.net = net
        flat = next(r['output'][1] for r in rows if r['layer'] == 'Flatten')
        compare = ('the same as the chapter' if flat == CHAPTER_FLATTEN
                   else f'the chapter\'s LeNet feeds {CHAPTER_FLATTEN}')
        self.summary.value = (f'<b>Flatten feeds {flat:,} numbers into the first Linear layer</b> '
                              f'({compare}). Total: {sum(r["params"] for r in rows):,} parameters, '
                              f'{sum(r["macs"] for r in rows):,} multiply-adds per image.')
        self.table.value = shape_table_html(rows)


def _image_bytes(image, title):
    fig, ax = plt.subplots(figsize=(2.2, 2.4))
    ax.imshow(image.float().numpy(), cmap='gray_r'), ax.axis('off'), ax.set_title(title, fontsize=9)
    return explore.figure_png(fig)


class DataBrowser:
    """Pick a class and an index within it; see that image, enlarged, with its label."""

    def __init__(self, images, labels, classes=FASHION_MNIST_CLASSES, split='training'):
        self.images, self.labels, self.classes, self.split = images, labels, classes, split
        self.by_class = [(labels == c).nonzero().flatten() for c in range(len(classes))]
        self.cls = w.Dropdown(options=[(name, i) for i, name in enumerate(classes)], description='class')
        self.index = w.IntSlider(value=1, min=1, max=len(self.by_class[0]), description='number',
                                 continuous_update=False)
        self.image = w.Image(format='png')
        self.caption = w.HTML()
        self.cls.observe(self._class_changed, names='value')
        self.index.observe(lambda change: self.show(), names='value')
        self.widget = w.HBox([w.VBox([self.cls, self.index, self.caption]), self.image])
        self.show()

    def _class_changed(self, change):
        self.index.max = max(len(self.by_class[self.cls.value]), 1)
        self.show()

    def show(self):
        """Show the chosen example."""
        try:
            members = self.by_class[self.cls.value]
            if len(members) == 0:
                self.caption.value = message_html(f'No {self.classes[self.cls.value]} images here.')
                return
            i = int(members[min(self.index.value, len(members)) - 1])
            name = self.classes[int(self.labels[i])]
            self.image.value = _image_bytes(self.images[i], name)
            self.caption.value = (f'<b>{html.escape(name)}</b>: number {self.index.value:,} of '
                                  f'{len(members):,} in its class<br>{self.split} set index {i:,}')
        except Exception as e:
            self.caption.value = error_html(e)


class TrainingPanel:
    """Learning rate, epochs, batch size, device and seed, a Train button, and every run compared.

    ``load_data(batch_size)`` returns (train_iter, test_iter); ``make_net()`` returns a fresh model.
    Each run, finished or not, lands in ``self.runs`` (a RunLog); its model is kept in ``self.nets``.
    """

    def __init__(self, load_data, make_net, lr=0.9, epochs=10, batch_size=128, seed=0):
        self.load_data, self.make_net = load_data, make_net
        self.runs, self.nets = RunLog(), {}
        devices = list(dict.fromkeys([str(try_gpu()), 'cpu']))
        style = {'description_width': '110px'}
        self.lr = w.SelectionSlider(options=sorted(set(LEARNING_RATES) | {lr}), value=lr,
                                    description='learning rate', style=style)
        self.epochs = w.IntSlider(value=epochs, min=1, max=30, description='epochs', style=style)
        self.batch_size = w.Dropdown(options=[32, 64, 128, 256, 512], value=batch_size,
                                     description='batch size', style=style)
        self.device = w.Dropdown(options=devices, value=devices[0], description='device', style=style)
        self.seed = w.IntText(value=seed, description='seed', style=style)
        self.button = w.Button(description='Train', icon='play', button_style='primary')
        self.button.on_click(lambda _: self.train())
        self.status = w.HTML()
        self.log = w.Output()
        self.table = w.HTML(value=self.runs.to_html())
        self.table.add_class('lenet-runs')
        self.plot = w.Image(format='png')
        self.widget = w.VBox([
            w.HBox([w.VBox([self.lr, self.epochs, self.batch_size]), w.VBox([self.device, self.seed,
                                                                              self.button])]),
            self.status, self.log, w.HTML('<b>All runs</b>'), self.table, self.plot])

    def train(self):
        """Train one fresh model with the current settings and add the run to the table."""
        settings = dict(lr=self.lr.value, epochs=self.epochs.value,
                        batch_size=self.batch_size.value, device=self.device.value, seed=self.seed.value)
        self.button.disabled = True
        self.status.value = message_html('Training... (interrupt the kernel to stop early; '
                                         'the run is kept)', 'info')
        self.log.clear_output()
        n = settings['epochs']
        name = f'run {len(self.runs) + 1}: lr {settings["lr"]:g}, {n} epoch{"s" if n != 1 else ""}'
        net = None
        try:
            set_seed(settings['seed'])
            train_iter, test_iter = self.load_data(settings['batch_size'])
            net = self.make_net()
            with self.log:
                history = train_ch6(net, train_iter, test_iter, settings['epochs'], settings['lr'],
                                    settings['device'], animate=False, log_epochs=True)
        except Exception as e:  # bad settings, no data, out of memory: keep the run, say what happened
            history = History(device=settings['device'], stopped='failed', message=f'{type(e).__name__}: {e}')
        except KeyboardInterrupt:  # interrupted outside train_ch6's own loop (e.g. while loading)
            history = History(device=settings['device'], stopped='interrupted',
                              message='Interrupted before training started.')
        finally:
            self.button.disabled = False
        name = self.runs.add(name, history, **settings)
        if net is not None:
            self.nets[name] = net
        kind = 'info' if history.stopped == 'completed' else 'warning'
        self.status.value = message_html(f'{name}: {history.stopped}. {history.message}'.strip(), kind)
        self.refresh()
        return history

    def refresh(self):
        """Redraw the run table and the overlaid test-accuracy plot."""
        self.table.value = TABLE_CSS + self.runs.to_html(sort_by='best test acc')
        fig, axes = plt.subplots(1, 2, figsize=(9, 3))
        self.runs.plot('train_loss', ax=axes[0])
        self.runs.plot('test_acc', ax=axes[1])
        fig.tight_layout()
        self.plot.value = explore.figure_png(fig)


class ConfusionExplorer:
    """A clickable confusion matrix: each cell is a button showing its count; clicking shows its images."""

    def __init__(self, images, labels, preds, probs, classes=FASHION_MNIST_CLASSES, max_images=16):
        self.images, self.labels, self.preds, self.probs = images, labels, preds, probs
        self.classes, self.max_images = classes, max_images
        self.cm = explore.confusion_matrix(labels, preds, len(classes))
        n, top = len(classes), float(self.cm.max())
        self.cells = {}
        items = [w.HTML('<b>true \\ predicted</b>')] + [
            w.HTML(f'<small>{html.escape(c)}</small>') for c in classes]
        for t in range(n):
            items.append(w.HTML(f'<small>{html.escape(classes[t])}</small>'))
            for p in range(n):
                v = int(self.cm[t, p])
                shade = int(255 - 200 * (v / top) ** 0.4) if top else 255
                b = w.Button(description=str(v), tooltip=f'true {classes[t]}, predicted {classes[p]}',
                             layout=w.Layout(width='auto', height='26px'))
                b.style.button_color = f'rgb({shade},{shade},255)' if t == p else f'rgb(255,{shade},{shade})'
                b.on_click(lambda _, t=t, p=p: self.select(t, p))
                self.cells[t, p] = b
                items.append(b)
        grid = w.GridBox(items, layout=w.Layout(grid_template_columns=f'110px repeat({n}, 64px)',
                                                grid_gap='2px'))
        self.caption = w.HTML('Click a cell to see its images.')
        self.gallery = w.Image(format='png')
        self.widget = w.VBox([grid, self.caption, self.gallery])

    def select(self, true_class, pred_class):
        """Show the images of one cell: true_class predicted as pred_class, most confident first."""
        t, p = self.classes[true_class], self.classes[pred_class]
        try:
            mask = (self.labels == true_class) & (self.preds == pred_class)
            idx = mask.nonzero().flatten()
            idx = idx[self.probs[idx, pred_class].argsort(descending=True)][:self.max_images]
            what = 'correctly classified' if true_class == pred_class else 'predicted as ' + p
            self.caption.value = (f'<b>{html.escape(t)}</b> {html.escape(what)}: {int(mask.sum()):,} '
                                  f'image(s); showing {len(idx)}, most confident first.')
            if len(idx):
                self.gallery.value = explore.figure_png(explore.image_grid(
                    self.images[idx], explore.prediction_titles(idx, self.labels, self.preds, self.probs,
                                                                self.classes), ncols=8))
                self.gallery.layout.display = None
            else:
                self.gallery.layout.display = 'none'  # an empty cell: nothing to show
        except Exception as e:
            self.caption.value = error_html(e)
