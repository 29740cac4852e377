"""Controls that explore without training: the shape calculator (02), the data browser (03), the confusion matrix (04)."""
import html

import ipywidgets as w
import matplotlib.pyplot as plt

from .. import explore
from ..data import FASHION_MNIST_CLASSES
from ..html import error_html, message_html, shape_table_html
from ..models import CHAPTER_DESIGN, DesignError, build_lenet, layer_table
from .base import Control

CHAPTER_FLATTEN = 400  # what the chapter's LeNet feeds its first Linear layer


def calculator_values(design):
    """The shape calculator's control values for a two-conv-layer Design."""
    (c1, c2), (k1, k2), (p1, p2), (s1, s2) = design.channels, design.kernel_sizes, design.paddings, design.strides
    return dict(input_size=design.input_size, c1=c1, k1=k1, p1=p1, s1=s1, c2=c2, k2=k2, p2=p2, s2=s2,
                pool=design.pool, pool_size=design.pool_size)


class ShapeCalculator(Control):
    """Settings of a two-conv-layer LeNet; every change rebuilds the real model and its shape table."""

    def __init__(self, design=CHAPTER_DESIGN):
        c = calculator_values(design)
        self.start = design
        self._hold = False  # True while set() changes several controls at once
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
        self.view = w.VBox([
            w.HBox([column('input_size', 'pool', 'pool_size'), column('c1', 'k1', 'p1', 's1'),
                    column('c2', 'k2', 'p2', 's2')], layout=w.Layout(flex_flow='row wrap')),
            self.reset_button, self.summary, self.table])
        self.view.add_class('lenet-shape-calculator')
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
        """Go back to the design the calculator started with (the chapter's LeNet by default)."""
        self.set(**calculator_values(self.start))

    def update(self):
        """Rebuild the model from the controls and show its table, or say why it cannot be built."""
        if self._hold:
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


class DataBrowser(Control):
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
        self.view = w.HBox([w.VBox([self.cls, self.index, self.caption]), self.image])
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


class ConfusionExplorer(Control):
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
        self.view = w.VBox([grid, self.caption, self.gallery])

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
