import base64

import matplotlib.pyplot as plt

import lenet_helpers as lh
from lenet_helpers import plotting, style


def test_plot_and_set_axes_draw_every_series():
    fig, ax = plt.subplots()
    lh.plot([0, 1, 2], [[0, 1, 4], [0, 1, 2]], xlabel='x', ylabel='y', legend=['sq', 'lin'], axes=ax)
    assert len(ax.lines) == 2 and ax.get_xlabel() == 'x' and ax.get_ylabel() == 'y'
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ['sq', 'lin']
    lh.plot([3, 2, 1], axes=ax)  # Y omitted: plotted against the index
    assert list(ax.lines[0].get_ydata()) == [3, 2, 1]
    plt.close(fig)


def test_set_figsize_and_svg_display_work_outside_a_notebook():
    lh.set_figsize((4, 3))
    assert tuple(plt.rcParams['figure.figsize']) == (4, 3)
    lh.use_svg_display()  # no kernel here: must not raise


def test_animator_outside_a_notebook_shows_nothing_and_saves_png(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr('IPython.display.display', lambda *a, **k: shown.append(a))
    anim = lh.Animator(xlabel='epoch', legend=['a', 'b'])
    assert not anim.live
    for x in range(5):
        anim.add(x, (x, None if x % 2 else x * 2))
    assert anim.Y == [[0, 1, 2, 3, 4], [0, 4, 8]]
    anim.save(tmp_path / 'curve.png')
    assert (tmp_path / 'curve.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert shown == []


class FakeHandle:
    def __init__(self):
        self.updates = 0

    def update(self, obj):
        self.updates += 1


def test_animator_in_a_notebook_updates_one_display_and_throttles(monkeypatch):
    monkeypatch.setattr(plotting, 'in_notebook', lambda: True)
    calls, handle = [], FakeHandle()

    def fake_display(obj, display_id=False):
        calls.append(display_id)
        return handle
    monkeypatch.setattr('IPython.display.display', fake_display)
    anim = lh.Animator(min_interval=3600)
    for x in range(100):
        anim.add(x, x)
    assert calls == [True] and handle.updates == 0  # drawn once, then throttled
    anim.draw()
    anim.draw()
    assert calls == [True] and handle.updates == 2  # later draws replace the same display


def test_plot_history_writes_a_figure(tmp_path):
    h = lh.History(epoch=[1, 2], train_loss=[1.0, 0.5], train_acc=[0.6, 0.8], test_acc=[0.6, 0.7],
                   seconds=[1, 2])
    lh.plot_history(h, tmp_path / 'h.png', title='t')
    assert (tmp_path / 'h.png').stat().st_size > 1000


def test_compared_curves_differ_in_colour_marker_and_line_style():
    anim = lh.Animator(legend=['train loss', 'train acc', 'test acc'])
    for x in range(1, 4):
        anim.add(x, (1.0 / x, 0.5, 0.6))
    anim._render()
    lines = anim.axes[0].lines
    assert len({ln.get_color() for ln in lines}) == 3
    assert len({ln.get_marker() for ln in lines}) == 3 and len({str(ln.get_linestyle()) for ln in lines}) == 3
    fig, ax = plt.subplots()
    lh.plot([0, 1], [[0, 1], [1, 0]], fmts=('r-', 'k:'), axes=ax)  # explicit formats are honoured
    assert [ln.get_color() for ln in ax.lines] == ['r', 'k'] and ax.lines[1].get_linestyle() == ':'
    plt.close(fig)


def test_plot_history_uses_the_house_style_and_readable_text():
    h = lh.History(epoch=[1, 2, 3], train_loss=[1.0, 0.5, 0.4], train_acc=[0.6, 0.8, 0.85],
                   test_acc=[0.6, 0.7, 0.8], seconds=[1, 2, 3])
    fig = lh.plot_history(h, title='t')
    ax = fig.axes[0]
    assert [ln.get_color() for ln in ax.lines] == [style.curve_style(i)['color'] for i in range(3)]
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]  # epochs counted from 1
    fig.canvas.draw()
    sizes = [t.get_fontsize() for t in ax.get_xticklabels() + ax.get_legend().get_texts()]
    assert min(sizes) >= style.MIN_FONT and fig.dpi == style.DPI
    plt.close(fig)


def test_the_live_plot_renders_once_per_redraw_at_a_layout_fixed_on_the_first(monkeypatch):
    """IPython's tight bounding box renders a figure twice per display; the live plot's redraws render it once."""
    monkeypatch.setattr(plotting, 'in_notebook', lambda: True)
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(obj)

    def fake_display(obj, display_id=False):
        shown.append(obj)
        return Handle()
    monkeypatch.setattr('IPython.display.display', fake_display)
    anim = lh.Animator(xlabel='epoch', xlim=[0, 2], legend=['train loss', 'train acc'], min_interval=0)
    anim.add(0.5, (2.3, 0.1))
    left = anim.fig.subplotpars.left
    anim.add(1.0, (1.5, 0.4))
    assert len(shown) == 2 and all(isinstance(s, plotting.FixedLayoutFigure) for s in shown)
    assert repr(shown[0]) == repr(anim.fig)  # a notebook's text/plain reads as for display(fig)
    assert anim.fig.subplotpars.left == left  # laid out once, not moved at each redraw
    renders = []
    monkeypatch.setattr(type(anim.fig), 'draw', lambda self, renderer: renders.append(renderer))
    bundle = shown[-1]._repr_mimebundle_()
    assert len(renders) == 1
    assert base64.b64decode(bundle['image/png'])[:8] == b'\x89PNG\r\n\x1a\n'


def test_the_live_plot_follows_use_svg_display(monkeypatch):
    monkeypatch.setattr(plotting, 'inline_format', lambda: 'svg')
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    bundle = plotting.FixedLayoutFigure(fig)._repr_mimebundle_()
    assert list(bundle) == ['image/svg+xml'] and '<svg' in bundle['image/svg+xml']
    plt.close(fig)
