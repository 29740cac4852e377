"""The notebooks' controls work headless: changing a control or clicking a button changes what is shown."""
import ipywidgets as w
import pytest
import torch

import lenet_helpers as lh
from lenet_helpers.data import ImageBatches


def tiny_data(batch_size, n_train=256, n_test=128, seed=0):
    """Random 28x28 images whose class is written into their brightness, so a net can learn something."""
    g = torch.Generator().manual_seed(seed)
    def split(n):
        labels = torch.randint(0, 10, (n,), generator=g)
        images = (labels.view(-1, 1, 1) * 25 + torch.randint(0, 20, (n, 28, 28), generator=g)).to(torch.uint8)
        return images, labels
    return (ImageBatches(*split(n_train), batch_size, shuffle=True),
            ImageBatches(*split(n_test), batch_size))


# ---- shape calculator ----------------------------------------------------------------------------

def find_classes(widget, cls, found=None):
    found = [] if found is None else found
    if cls in getattr(widget, '_dom_classes', ()):
        found.append(widget)
    for child in getattr(widget, 'children', ()):
        find_classes(child, cls, found)
    return found


def test_calculator_contract_css_classes():
    calc = lh.ShapeCalculator()
    assert 'lenet-shape-calculator' in calc.view._dom_classes
    kernel, = find_classes(calc.view, 'lenet-conv1-kernel')
    table, = find_classes(calc.view, 'lenet-shape-table')
    assert isinstance(kernel, (w.IntSlider, w.Dropdown)) and isinstance(table, w.HTML)
    assert kernel is calc.controls['k1'] and table is calc.table


def test_calculator_starts_as_the_chapters_lenet():
    calc = lh.ShapeCalculator()
    assert calc.table.value.startswith('<table')
    assert '1 x 16 x 5 x 5' in calc.table.value and '61,706' in calc.table.value
    assert 'Flatten feeds 400 numbers' in calc.summary.value
    assert lh.count_params(calc.net) == lh.count_params(lh.lenet())


def test_conv1_kernel_change_rebuilds_the_table():
    calc = lh.ShapeCalculator()
    before = calc.table.value
    calc.controls['k1'].value = 3  # 28 -> 30 -> 15 -> 11 -> 5: same flatten, other conv1 shape
    assert calc.table.value != before
    assert '1 x 6 x 30 x 30' in calc.table.value
    assert calc.net[1].kernel_size == (3, 3)


@pytest.mark.parametrize('name, value, expected', [
    ('input_size', 32, '1 x 6 x 32 x 32'), ('c1', 8, '1 x 8 x 28 x 28'), ('p1', 0, '1 x 6 x 24 x 24'),
    ('s1', 2, '1 x 16 x 3 x 3'), ('c2', 20, '1 x 20 x 10 x 10'), ('k2', 3, '1 x 16 x 12 x 12'),
    ('p2', 1, '1 x 16 x 12 x 12'), ('s2', 2, '1 x 16 x 2 x 2'), ('pool', 'max', 'MaxPool2d'),
    ('pool_size', 1, '1 x 16 x 24 x 24')])
def test_every_control_changes_the_table(name, value, expected):
    calc = lh.ShapeCalculator()
    assert expected not in calc.table.value
    calc.controls[name].value = value
    assert expected in calc.table.value


def test_no_pooling_reports_the_bigger_flatten():
    calc = lh.ShapeCalculator()
    calc.controls['pool'].value = None  # 28 -> 28 -> 24: 16 * 24 * 24
    assert 'Flatten feeds 9,216 numbers' in calc.summary.value
    assert 'AvgPool2d' not in calc.table.value


def test_impossible_design_shows_an_explanation_not_a_table():
    calc = lh.ShapeCalculator()
    calc.controls['s1'].value = 4  # 28 -> 7 -> 3, then a 5x5 kernel does not fit
    assert '<table' not in calc.table.value
    assert 'conv2' in calc.table.value and '3x3' in calc.table.value and 'smaller kernel' in calc.table.value
    assert calc.net is None and calc.summary.value == ''
    calc.reset_button.click()
    assert '<table' in calc.table.value and 'Flatten feeds 400' in calc.summary.value


def test_pool_too_big_is_explained():
    calc = lh.ShapeCalculator()
    calc.set(input_size=8, p1=0, k1=3, k2=3, pool_size=4)  # 8 -> 6 -> 1 -> conv2 cannot fit
    assert '<table' not in calc.table.value and 'This design cannot work' in calc.table.value


def test_unexpected_error_is_shown_as_a_message(monkeypatch):
    calc = lh.ShapeCalculator()
    def boom(*args, **kwargs):
        raise RuntimeError('Given input size: (6x1x1). Calculated output size: (6x0x0)')
    monkeypatch.setattr('lenet_helpers.controls.explorers.layer_table', boom)
    calc.controls['c1'].value = 7
    assert 'PyTorch refused these settings' in calc.table.value and 'Calculated output size' in calc.table.value


# ---- data browser --------------------------------------------------------------------------------

def test_data_browser_follows_class_and_index():
    (train, _) = tiny_data(32)
    browser = lh.DataBrowser(train.images, train.labels)
    first_caption, first_image = browser.caption.value, browser.image.value
    assert bytes(first_image).startswith(b'\x89PNG') and 'T-shirt/top' in first_caption
    assert 'number 1 of' in first_caption
    browser.index.value = 4
    assert browser.caption.value != first_caption and bytes(browser.image.value) != bytes(first_image)
    assert 'number 4 of' in browser.caption.value
    browser.cls.value = 9
    assert 'Ankle boot' in browser.caption.value
    expected = int((train.labels == 9).sum())
    assert browser.index.max == expected and f'of {expected} in its class' in browser.caption.value
    i = int((train.labels == 9).nonzero()[min(4, expected) - 1])
    assert f'index {i:,}' in browser.caption.value


# ---- training panel ------------------------------------------------------------------------------

def make_panel(**kwargs):
    return lh.TrainingPanel(lambda bs: tiny_data(bs), lh.lenet, epochs=1, batch_size=64, **kwargs)


def test_panel_offers_only_devices_that_exist():
    panel = make_panel()
    assert 'cpu' in panel.device.options and str(lh.try_gpu()) in panel.device.options


def test_train_button_adds_a_run_to_table_and_plot():
    panel = make_panel()
    assert 'No runs yet' in panel.table.value and bytes(panel.plot.value) == b''
    panel.train_button.click()
    panel.wait()
    assert len(panel.runs) == 1 and panel.runs[0].history.stopped == 'completed'
    assert 'run 1: lr 0.9, 1 epoch<' in panel.table.value and '<table' in panel.table.value
    assert bytes(panel.plot.value).startswith(b'\x89PNG') and 'completed' in panel.runner.status.value
    first_plot = panel.plot.value
    panel.lr.value, panel.epochs.value = 0.1, 2
    panel.train_button.click()
    panel.wait()
    assert len(panel.runs) == 2 and 'run 2: lr 0.1, 2 epochs' in panel.table.value
    assert panel.runs[1].settings['lr'] == 0.1 and len(panel.runs[1].history.epoch) == 2
    assert bytes(panel.plot.value) != bytes(first_plot) and len(panel.nets) == 2 and not panel.train_button.disabled


def test_same_seed_repeats_a_run_exactly():
    panel = make_panel()
    panel.train_button.click()
    panel.wait()
    panel.train_button.click()
    panel.wait()
    a, b = (r.history for r in panel.runs)
    assert a.train_loss == b.train_loss and a.test_acc == b.test_acc


def test_failing_run_is_kept_with_its_message():
    panel = lh.TrainingPanel(lambda bs: (_ for _ in ()).throw(lh.DataNotFoundError('no data here')),
                             lh.lenet, epochs=1)
    panel.train_button.click()
    panel.wait()
    assert len(panel.runs) == 1 and panel.runs[0].history.stopped == 'failed'
    assert 'failed' in panel.table.value and 'no data here' in panel.runner.status.value
    assert not panel.train_button.disabled


class NaNWhileTraining(torch.nn.Module):
    """Turns the scores into NaN in training mode: a divergence that does not depend on thread timing."""

    def forward(self, x):
        return x * float('nan') if self.training else x


def test_diverging_run_lands_in_the_table():
    panel = lh.TrainingPanel(lambda bs: tiny_data(bs), lambda: torch.nn.Sequential(lh.lenet(), NaNWhileTraining()),
                             lr=0.9, epochs=3, batch_size=32)
    panel.train_button.click()
    panel.wait()
    assert panel.runs[0].history.stopped == 'diverged'
    assert 'diverged' in panel.table.value and 'Lower lr' in panel.runner.status.value


class InterruptAfter:
    """A training iterator that raises KeyboardInterrupt (what Jupyter's stop button does) mid-epoch."""

    def __init__(self, data, batches):
        self.data, self.batches, self.served = data, batches, 0

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        for batch in self.data:
            if self.served == self.batches:
                raise KeyboardInterrupt
            self.served += 1
            yield batch


def test_interrupted_run_keeps_its_finished_epochs():
    def load(bs):
        train, test = tiny_data(bs)
        return InterruptAfter(train, len(train) + 2), test  # stop in the second epoch
    panel = lh.TrainingPanel(load, lh.lenet, epochs=3, batch_size=64)
    panel.train_button.click()
    panel.wait()
    history = panel.runs[0].history
    assert history.stopped == 'interrupted' and history.epoch == [1]
    assert 'interrupted' in panel.table.value and 'interrupted' in panel.runner.status.value
    assert len(panel.nets) == 1 and not panel.train_button.disabled


# ---- confusion-matrix explorer -------------------------------------------------------------------

def fake_predictions():
    labels = torch.tensor([0, 0, 0, 6, 6, 6, 6, 1, 1, 9])
    preds = torch.tensor([0, 6, 6, 0, 0, 6, 2, 1, 1, 7])
    probs = torch.full((10, 10), 0.01)
    probs[torch.arange(10), preds] = torch.tensor([0.9, 0.8, 0.5, 0.7, 0.95, 0.6, 0.4, 0.9, 0.9, 0.3])
    images = torch.randint(0, 255, (10, 28, 28), dtype=torch.uint8)
    return images, labels, preds, probs


def test_confusion_cells_show_their_counts():
    explorer = lh.ConfusionExplorer(*fake_predictions())
    assert explorer.cells[0, 6].description == '2' and explorer.cells[6, 0].description == '2'
    assert explorer.cells[1, 1].description == '2' and explorer.cells[3, 3].description == '0'


def test_clicking_a_cell_shows_that_cells_images():
    explorer = lh.ConfusionExplorer(*fake_predictions())
    assert bytes(explorer.gallery.value) == b''
    explorer.cells[6, 0].click()
    assert 'Shirt' in explorer.caption.value and 'predicted as T-shirt/top: 2 image(s)' in explorer.caption.value
    first = explorer.gallery.value
    assert bytes(first).startswith(b'\x89PNG')
    explorer.cells[9, 7].click()
    assert 'Ankle boot' in explorer.caption.value and 'Sneaker: 1 image(s)' in explorer.caption.value
    assert bytes(explorer.gallery.value) != bytes(first)
    explorer.cells[3, 3].click()
    assert '0 image(s)' in explorer.caption.value and explorer.gallery.layout.display == 'none'


def test_batch_size_and_seed_controls_reach_the_run():
    panel = make_panel()
    panel.train_button.click()
    panel.wait()
    panel.batch_size.value, panel.seed.value = 32, 1
    panel.train_button.click()
    panel.wait()
    first, second = panel.runs
    assert second.settings['batch_size'] == 32 and second.settings['seed'] == 1
    assert first.history.train_loss != second.history.train_loss
    assert '>32</td>' in panel.table.value
