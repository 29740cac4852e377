"""Matplotlib helpers with the chapter's names, and a live plot that updates one figure in place."""
import base64
import io
import time

import matplotlib.pyplot as plt

from . import style

D2L_FMTS = ('-', 'm--', 'g-.', 'r:')  # d2l's default: with it the curves take the house style instead


def _draw_curves(ax, X, Y, fmts):
    """Plot each (x, y) curve: the house style when fmts is d2l's default, else the given formats."""
    for i, (x, y) in enumerate(zip(X, Y)):
        args = (x, y) if len(x) else (y,)
        if tuple(fmts) == D2L_FMTS:
            ax.plot(*args, markevery=style.markevery(len(y)), **style.curve_style(i))
        else:
            ax.plot(*args, fmts[i % len(fmts)])


def in_notebook():
    """True inside a Jupyter kernel (JupyterLab, VS Code, nbval), False in a script or the terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and 'IPKernelApp' in shell.config


def inline_format():
    """'svg' after use_svg_display() (or matplotlib_inline set to SVG), else 'png'."""
    try:
        from matplotlib_inline.backend_inline import InlineBackend
        return 'svg' if 'svg' in InlineBackend.instance().figure_formats else 'png'
    except Exception:  # no kernel, or matplotlib_inline missing: PNG
        return 'png'


def fix_layout(fig):
    """Lay a figure out once (tight_layout) and keep that layout, so saving it renders it only once."""
    fig.tight_layout()
    fig.set_layout_engine(None)  # tight_layout leaves a placeholder engine that makes each save lay out again


class FixedLayoutFigure:
    """Shows a figure as it is laid out, without IPython's tight bounding box (which renders it twice).

    Its text/plain is the figure's own repr, so a notebook's output reads as for ``display(fig)``.
    """

    def __init__(self, fig):
        self.fig = fig

    def _repr_mimebundle_(self, include=None, exclude=None):
        fmt, buf = inline_format(), io.BytesIO()
        self.fig.savefig(buf, format=fmt)
        data = buf.getvalue()
        return {'image/svg+xml': data.decode()} if fmt == 'svg' else \
            {'image/png': base64.b64encode(data).decode('ascii')}

    def __repr__(self):
        return repr(self.fig)


def use_svg_display():
    """Show inline figures as SVG (through matplotlib_inline; IPython's old helper is gone)."""
    if in_notebook():
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats('svg')


def set_figsize(figsize=(3.5, 2.5)):
    """Set the default figure size in inches."""
    use_svg_display()
    plt.rcParams['figure.figsize'] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend):
    """Set labels, limits, scales and legend of one matplotlib Axes."""
    axes.set_xlabel(xlabel), axes.set_ylabel(ylabel)
    axes.set_xscale(xscale), axes.set_yscale(yscale)
    axes.set_xlim(xlim), axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid(True)


def _has_one_axis(X):
    return hasattr(X, 'ndim') and X.ndim == 1 or isinstance(X, list) and not hasattr(X[0], '__len__')


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale='linear',
         yscale='linear', fmts=D2L_FMTS, figsize=(3.5, 2.5), axes=None):
    """Plot one or several curves; Y=None plots X against its indices (house style unless fmts given)."""
    if axes is None:
        set_figsize(figsize)
        with style.apply():
            axes = plt.gca()
    if _has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif _has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    _draw_curves(axes, X, Y, fmts)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


class Animator:
    """Curves that grow while a model trains, drawn into ONE figure updated in place.

    In a notebook the figure is shown once and then replaced through its display handle (no
    clear_output, so nothing flickers or stacks); redraws are throttled to one per
    ``min_interval`` seconds. The layout is fixed at the first redraw, so each one renders the figure
    once (IPython's tight bounding box renders it twice). Outside a notebook nothing is shown;
    ``save(path)`` writes a PNG.
    """

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale='linear',
                 yscale='linear', fmts=D2L_FMTS, nrows=1, ncols=1, figsize=(3.5, 2.5),
                 min_interval=2.0):
        with style.apply():
            self.fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
        plt.close(self.fig)  # shown through our own display handle, not again at the cell's end
        self.axes = [axes] if nrows * ncols == 1 else list(axes.flat)
        self.config_axes = lambda: set_axes(self.axes[0], xlabel, ylabel, xlim, ylim, xscale, yscale,
                                            legend)
        self.X, self.Y, self.fmts = None, None, fmts
        self.min_interval, self.last_draw = min_interval, float('-inf')
        self.live = in_notebook()
        self.handle = None

    def add(self, x, y):
        """Append one point to each curve (y: a value or a sequence; None skips that curve)."""
        if not hasattr(y, '__len__'):
            y = [y]
        n = len(y)
        if not hasattr(x, '__len__'):
            x = [x] * n
        if self.X is None:
            self.X, self.Y = [[] for _ in range(n)], [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        if time.perf_counter() - self.last_draw >= self.min_interval:
            self.draw()

    def _render(self):
        ax = self.axes[0]
        ax.cla()
        with style.apply():
            _draw_curves(ax, self.X or [], self.Y or [], self.fmts)
            self.config_axes()

    def draw(self):
        """Redraw the curves now and, in a notebook, replace the displayed figure."""
        self.last_draw = time.perf_counter()
        self._render()
        if self.live:
            from IPython.display import display
            if self.handle is None:
                fix_layout(self.fig)  # once: labels and legend keep their place as the curves grow
                self.handle = display(FixedLayoutFigure(self.fig), display_id=True)
            else:
                self.handle.update(FixedLayoutFigure(self.fig))

    def save(self, path):
        """Write the current figure to a file (PNG, SVG or PDF by its suffix)."""
        self._render()
        self.fig.savefig(path, bbox_inches='tight')


def plot_history(history, path=None, title=None):
    """Draw a History's train loss, train acc and test acc against epochs (counted from 1); save it when
    path is given."""
    fig, ax = style.figure(4.5, 3.0)
    with style.apply():
        for i, (values, label) in enumerate([(history.train_loss, 'train loss'),
                                             (history.train_acc, 'train acc'),
                                             (history.test_acc, 'test acc')]):
            ax.plot(history.epoch, values, label=label, **style.curve_style(i))
        ax.set_xlabel('epoch'), ax.grid(True), ax.legend()
        if title:
            ax.set_title(title)
    if path:
        fig.savefig(path, bbox_inches='tight')
        plt.close(fig)
    return fig
