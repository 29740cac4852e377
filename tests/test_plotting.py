import matplotlib.pyplot as plt

import lenet_helpers as lh
from lenet_helpers import plotting


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
