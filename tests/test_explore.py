"""Figures and analysis helpers: right numbers, right stages, figures that draw."""
import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.patches import Polygon, Rectangle

import lenet_helpers as lh
from lenet_helpers import explore, style

matplotlib.use('Agg')


def test_dataflow_stages_of_the_chapters_lenet():
    stages = explore.dataflow_stages(lh.lenet())
    assert [s for _, s in stages] == [(1, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5),
                                      (400,), (120,), (84,), (10,)]
    assert stages[1][0] == 'conv 5x5 pad 2 + sigmoid' and stages[2][0] == 'avg pool 2'
    assert stages[-1][0] == 'dense'


def test_dataflow_follows_a_changed_design():
    stages = explore.dataflow_stages(lh.build_lenet(pool='max', activation='relu', paddings=(0, 0)))
    assert ('max pool 2', (6, 12, 12)) in stages and stages[1][0] == 'conv 5x5 + relu'
    assert ('flatten', (256,)) in stages


def test_draw_dataflow_is_to_scale_and_labelled():
    fig = lh.draw_dataflow(lh.lenet())
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert '16 channels\n5x5' in texts and '6 channels\n28x28' in texts and '400\nvalues' in texts
    # the front face of each map box is proportional to its height in pixels: 28, 28, 14, 10, 5
    fronts = [p for p in ax.patches if isinstance(p, Polygon)][2::3]
    sides = [round(float(np.ptp(p.get_xy()[:, 1])), 3) for p in fronts]
    assert sides == [2.8, 2.8, 1.4, 1.0, 0.5]
    # the depth of each box is proportional to its channels: 16 channels are 16/6 as deep as 6
    tops = [p for p in ax.patches if isinstance(p, Polygon)][1::3]
    depths = [float(np.ptp(p.get_xy()[:, 1])) for p in tops]
    assert depths[3] / depths[1] == pytest.approx(16 / 6)
    # vectors: bar heights proportional to their lengths 400, 120, 84
    bars = [p.get_height() for p in ax.patches if isinstance(p, Rectangle)]
    assert bars[1] / bars[0] == pytest.approx(120 / 400) and bars[2] / bars[0] == pytest.approx(84 / 400)
    assert min(t.get_fontsize() for t in ax.texts) >= style.MIN_FONT


def test_class_counts():
    assert lh.class_counts(torch.tensor([0, 0, 3, 9])).tolist() == [2, 0, 0, 1, 0, 0, 0, 0, 0, 1]


def test_confusion_matrix_rows_are_true_columns_predicted():
    cm = lh.confusion_matrix(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 0]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_predict_matches_evaluate_accuracy():
    torch.manual_seed(0)
    net = lh.lenet()
    X, y = torch.rand(50, 1, 28, 28), torch.randint(0, 10, (50,))
    data = [(X[:32], y[:32]), (X[32:], y[32:])]
    labels, preds, probs = lh.predict(net, data)
    assert labels.tolist() == y.tolist() and probs.shape == (50, 10)
    assert torch.allclose(probs.sum(1), torch.ones(50))
    assert int((preds == labels).sum()) == round(lh.evaluate_accuracy_gpu(net, data) * 50)
    assert net.training  # predict must hand the net back in the mode it found it


def test_misclassified_most_confident_first_and_by_cell():
    labels = torch.tensor([0, 1, 1, 2, 2])
    preds = torch.tensor([0, 2, 2, 1, 2])
    probs = torch.zeros(5, 3)
    probs[torch.arange(5), preds] = torch.tensor([0.9, 0.5, 0.8, 0.7, 0.9])
    assert lh.misclassified(labels, preds, probs).tolist() == [2, 3, 1]
    assert lh.misclassified(labels, preds, probs, true_class=1, pred_class=2).tolist() == [2, 1]
    titles = lh.prediction_titles([2], labels, preds, probs)
    assert titles == ['Trouser\n-> Pullover (80%)']


def test_show_images_has_d2ls_call_shape_and_returns_its_axes():
    images = torch.rand(18, 1, 28, 28)
    axes = lh.show_images(images.reshape(18, 28, 28), 2, 9, titles=[str(i) for i in range(18)])
    assert len(axes) == 18 and axes[17].get_title() == '17'
    assert axes[0].images[0].get_cmap().name == style.IMAGE_CMAP  # dark ink on white
    assert np.allclose(axes[4].images[0].get_array(), images[4, 0].numpy())
    fig = axes[0].figure
    assert tuple(fig.get_size_inches()) == pytest.approx((style.MAX_WIDTH, 2 * 1.5 * style.MAX_WIDTH / 13.5))
    axes = lh.show_images(images[:3], 2, 2, scale=1.0)  # fewer images than cells: the rest stay empty
    assert len(axes) == 4 and not axes[3].images and not axes[3].axison


def test_image_grid_returns_a_figure_with_every_image():
    images = torch.randint(0, 255, (10, 28, 28), dtype=torch.uint8)
    fig = lh.image_grid(images, [str(i) for i in range(10)], ncols=4)
    assert len(fig.axes) == 12 and fig.axes[9].get_title() == '9'
    assert fig.axes[0].images[0].get_clim() == (0.0, 255.0)  # bytes are shown on their own range


def test_confusion_matrix_figure_has_a_labelled_scale_and_readable_counts():
    cm = torch.tensor([[900, 3, 0], [40, 800, 1], [0, 0, 950]])
    fig = lh.plot_confusion_matrix(cm, classes=['a', 'b', 'c'])
    ax, bar = fig.axes
    assert 'log scale' in bar.get_ylabel()
    colour = {t.get_text(): t.get_color() for t in ax.texts}
    assert colour['950'] == 'white' and colour['3'] == 'black' and colour['0'] == 'black'
    assert min(t.get_fontsize() for t in ax.texts) >= style.MIN_FONT


def test_figures_draw():
    fig = lh.plot_class_balance(torch.full((10,), 6000), torch.full((10,), 1000))
    assert fig.axes[0].get_title() == 'training set: 60,000 images'
    fig = lh.plot_confusion_matrix(torch.eye(10, dtype=torch.long) * 7)
    assert '7' in [t.get_text() for t in fig.axes[0].texts]
    png = explore.figure_png(fig)
    assert png.startswith(b'\x89PNG')
    width = int.from_bytes(png[16:20], 'big')
    assert width <= style.MAX_WIDTH * style.DPI  # rendered at its own dpi: shown 1:1, not shrunk
