"""The one run control: runs in a thread, reports progress, stops within a second, refuses a second run,
turns an error into a 'failed' run, snapshots its settings; and every control has a static fallback."""
import threading
import time

import nbformat
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg

import lenet_helpers as lh
from lenet_helpers.controls import runner as R
from lenet_helpers.data import ImageBatches


def tiny_data(batch_size, n_train=512, n_test=128, seed=0):
    g = torch.Generator().manual_seed(seed)

    def split(n):
        labels = torch.randint(0, 10, (n,), generator=g)
        images = (labels.view(-1, 1, 1) * 25 + torch.randint(0, 20, (n, 28, 28), generator=g)).to(torch.uint8)
        return images, labels
    return (ImageBatches(*split(n_train), batch_size, shuffle=True,
                         generator=torch.Generator().manual_seed(seed)),
            ImageBatches(*split(n_test), batch_size))


@pytest.fixture(autouse=True, scope='module')
def warm_up():
    """Pay torch.optim's one-time lazy imports (several seconds on a busy machine) before anything is timed."""
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net(torch.ones(1, 2)).sum().backward()
    opt.step()


def slow_data(batch_size, delay=0.02):
    """Like tiny_data, but each training batch takes at least `delay` s: long runs without much CPU."""
    train, test = tiny_data(batch_size)

    class Slow:
        def __len__(self):
            return len(train)

        def __iter__(self):
            for batch in train:
                time.sleep(delay)
                yield batch
    return Slow(), test


def panel(load=None, **kw):
    return lh.TrainingPanel(load or (lambda bs: tiny_data(bs)), lh.lenet, epochs=kw.pop('epochs', 1),
                            batch_size=kw.pop('batch_size', 64), **kw)


def test_train_runs_in_another_thread_and_returns_its_record():
    p = panel(load=lambda bs: slow_data(bs), epochs=30)
    run = p.train(wait=False)  # returns while the run trains (a 30-epoch run on slow batches)
    assert isinstance(run, lh.Run) and run.status == 'running' and p.runner.running
    assert p.train_button.disabled and not p.runner.stop_button.disabled
    p.stop()
    assert p.wait(timeout=120) is run and run.status == 'stopped'


def test_progress_events_reach_the_progress_line_and_the_curve(monkeypatch):
    monkeypatch.setattr(R, 'DRAW_EVERY', 0.0)  # redraw on every report, so this short run draws several times
    seen = []
    original = R.RunControl._report

    def spy(self, p):
        seen.append((p.kind, p.epoch, p.batch))
        original(self, p)
    monkeypatch.setattr(R.RunControl, '_report', spy)
    p = panel(load=lambda bs: slow_data(bs, 0.05), epochs=2, batch_size=32)
    curves, lines = set(), []
    p.runner.curve.observe(lambda change: curves.add(bytes(change['new'])), names='value')
    p.runner.progress.observe(lambda change: lines.append(change['new']), names='value')
    run = p.train()
    assert run.status == 'completed' and run.history.epoch == [1, 2]
    assert [k for k in seen if k[0] == 'epoch'] == [('epoch', 1, 16), ('epoch', 2, 16)]
    assert any(k[0] == 'batch' for k in seen)
    assert len(curves) >= 3, 'the live curve was redrawn fewer than three times'
    assert any('epoch 2/2, batch' in t and 'examples/s' in t and 's left' in t for t in lines)
    assert any(t.startswith('epoch 2/2, test acc') for t in lines)
    assert p.runner.progress.value.startswith('completed after 2 finished epochs')


def test_stop_ends_the_run_within_a_second_and_keeps_it():
    p = panel(load=lambda bs: slow_data(bs), epochs=50)
    run = p.train(wait=False)
    deadline = time.monotonic() + 30
    while not run.history.epoch and not p.runner._points['test acc'][0] and time.monotonic() < deadline:
        time.sleep(0.05)  # let it finish at least one epoch
    t = time.monotonic()
    p.runner.stop_button.click()
    while run.status == 'running' and time.monotonic() - t < 5:
        time.sleep(0.01)
    took = time.monotonic() - t  # until training ended; redrawing the tables afterwards is not counted
    p.wait(timeout=30)
    assert took < 1.0, f'stopping took {took:.2f} s'
    assert run.status == 'stopped' and len(run.history.epoch) >= 1
    assert p.log[0] is run and run.id in p.runner.nets and 'stopped' in p.table.value
    assert not p.train_button.disabled and p.runner.stop_button.disabled
    again = p.train(wait=True)  # Train works again
    assert again.status == 'completed' and len(p.log) == 2


def test_a_second_train_while_one_runs_is_refused():
    p = panel(load=lambda bs: slow_data(bs), epochs=30)
    first = p.train(wait=False)
    assert p.train(wait=False) is None and p.train(wait=True) is None
    assert 'still training' in p.runner.status.value
    p.stop()
    p.wait(timeout=120)
    assert len(p.log) == 1 and p.log[0] is first


def test_a_double_click_records_one_run():
    p = panel(load=lambda bs: slow_data(bs), epochs=2)
    p.train_button.click()
    p.train_button.click()  # a double click: the second arrives while the first run goes
    p.wait(timeout=60)
    assert len(p.log) == 1


def test_an_error_inside_a_run_becomes_a_failed_run():
    def broken_net():
        raise RuntimeError('make_net is not written yet')
    p = lh.TrainingPanel(lambda bs: tiny_data(bs), broken_net, epochs=1)
    run = p.train()
    assert run.status == 'failed' and 'make_net is not written yet' in run.history.message
    assert 'failed' in p.table.value and 'make_net is not written yet' in p.runner.status.value
    assert not p.train_button.disabled and not p.runner.running


def test_settings_are_snapshot_when_train_is_pressed():
    p = panel(load=lambda bs: slow_data(bs, 0.01), epochs=2, batch_size=64, lr=0.9)
    run = p.train(wait=False)
    p.epochs.value, p.lr.value, p.batch_size.value = 5, 0.1, 32  # moved during the run
    p.wait(timeout=60)
    assert run.history.epoch == [1, 2] and run.settings['lr'] == 0.9 and run.settings['batch_size'] == 64
    assert run.recipe == lh.CHAPTER_RECIPE.replace(epochs=2, batch_size=64)


def test_interrupting_a_waiting_cell_stops_the_run_cleanly():
    p = panel(load=lambda bs: slow_data(bs), epochs=30)
    timer = threading.Timer(1.0, lambda: p.runner.stop())  # stands in for the kernel's interrupt
    timer.start()
    run = p.train(wait=True)
    assert run.status == 'stopped'


def test_learning_rate_sliders_land_exactly_on_the_recipes_values():
    for control in (panel().lr, lh.ComparisonLab(lambda pool, act: lh.lenet(), tiny_data).lr):
        values = [v for _, v in control.options]
        for lr in (0.9, 0.003, 0.1, 0.01, 0.3, 1e-3):
            assert lr in values
            control.value = lr
            assert control.value == lr and control.label == f'{lr:g}'


def test_comparison_lab_names_runs_by_the_exact_learning_rate():
    lab = lh.ComparisonLab(lambda pool, act: lh.build_lenet(pool=pool.__name__[:3].lower(), activation='sigmoid'),
                           tiny_data, epochs=1)
    lab.lr.value = 0.3
    run = lab.train()
    assert run.name == 'sigmoid + avg pool, lr 0.3' and run.settings['lr'] == 0.3


# ---- display convention and static fallbacks ----------------------------------------------------

def test_every_control_shows_a_widget_and_a_static_snapshot():
    p = panel()
    p.train()
    bundle = p._repr_mimebundle_()
    assert 'application/vnd.jupyter.widget-view+json' in bundle
    assert 'lenet-snapshot' in bundle['text/html'] and 'run 1: lr 0.9' in bundle['text/html']
    assert 'data:image/png;base64' in bundle['text/html']  # the curves, as pictures
    assert 'children' not in bundle['text/plain'] and 'TrainingPanel' in bundle['text/plain']
    assert not hasattr(p, 'widget') and not hasattr(p, 'show')


NOTEBOOK = '''
import torch, lenet_helpers as lh
from lenet_helpers.data import ImageBatches
g = torch.Generator().manual_seed(0)
labels = torch.randint(0, 10, (256,), generator=g)
images = (labels.view(-1, 1, 1) * 25).to(torch.uint8).expand(-1, 28, 28).contiguous()
panel = lh.TrainingPanel(lambda bs: (ImageBatches(images, labels, bs), ImageBatches(images, labels, bs)),
                         lh.lenet, epochs=1, batch_size=64)
panel.train()
panel
'''


def test_an_executed_notebook_converted_to_html_shows_the_snapshot(tmp_path):
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK), nbformat.v4.new_code_cell(
        'calc = lh.ShapeCalculator()\ncalc')])
    NotebookClient(nb, timeout=300, kernel_name='python3', resources={'metadata': {'path': str(tmp_path)}}).execute()
    nb.metadata.pop('widgets', None)  # as tools/run_notebooks.py commits them: no widget state
    page, _ = HTMLExporter().from_notebook_node(nb)
    assert page.count('lenet-snapshot') >= 2, 'no static snapshot of the controls in the HTML'
    assert 'run 1: lr 0.9, 1 epoch' in page and 'data:image/png;base64' in page
    assert '61,706' in page  # the shape calculator's table
    for repr_text in ('VBox(children', 'HBox(children', 'TrainingPanel object at', 'ShapeCalculator object at'):
        assert repr_text not in page


def test_a_runs_prints_stay_out_of_other_cells_and_stdout_is_given_back(capsys):
    import sys
    before = sys.stdout
    p = panel(epochs=1)
    run = p.train()
    print('the notebook still prints')
    assert run.status == 'completed' and sys.stdout is before
    out = capsys.readouterr().out
    assert 'the notebook still prints' in out and 'examples/sec' not in out and 'train acc' not in out


@pytest.mark.parametrize('title', ['', 'run 12: lr 0.1, 10 epochs'])
def test_the_live_curve_keeps_every_label_inside_its_fixed_margins(title):
    """The curve is laid out with fixed margins (no tight_layout per redraw); no label may be cut off."""
    steps = [k / 10 for k in range(1, 100)]
    points = {'train loss': (steps, [2.3 / (1 + x) for x in steps]), 'train acc': (steps, [0.85 - 0.7 / (1 + x) for x in steps]),
              'test acc': ([1, 2, 3, 4, 5, 6, 7, 8, 9], [0.5, 0.6, 0.7, 0.75, 0.78, 0.8, 0.81, 0.82, 0.83])}
    for pts in (points, {k: ([], []) for k in points}):
        fig = R.curve_figure(pts, 10, title)
        FigureCanvasAgg(fig).draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        texts = [ax.xaxis.label, ax.title]
        texts += [t for v, t in zip(ax.get_xticks(), ax.get_xticklabels()) if x0 <= v <= x1]  # the ticks drawn
        texts += [t for v, t in zip(ax.get_yticks(), ax.get_yticklabels()) if y0 <= v <= y1]
        texts += ax.get_legend().get_texts() if ax.get_legend() else []
        for t in texts:
            if t.get_text() and t.get_visible():
                box = t.get_window_extent(renderer)
                assert 0 <= box.x0 and box.x1 <= R.CURVE_PX[0] and 0 <= box.y0 and box.y1 <= R.CURVE_PX[1], t.get_text()
    assert R.curve_png(points, 10, title)[:8] == b'\x89PNG\r\n\x1a\n'
