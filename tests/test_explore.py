"""Figures and analysis helpers: right numbers, right stages, figures that draw."""
import matplotlib
import torch

import lenet_helpers as lh
from lenet_helpers import explore

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


def test_draw_dataflow_draws_one_box_per_stage_at_least():
    fig = lh.draw_dataflow(lh.lenet())
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert '16@5x5' in texts and '400' in texts and '10' in texts
    assert len(fig.axes[0].patches) >= 9


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


def test_figures_draw():
    images = torch.randint(0, 255, (10, 28, 28), dtype=torch.uint8)
    fig = lh.show_images(images, [str(i) for i in range(10)], ncols=4)
    assert len(fig.axes) == 12 and fig.axes[9].get_title() == '9'
    fig = lh.plot_class_balance(torch.full((10,), 6000), torch.full((10,), 1000))
    assert fig.axes[0].get_title() == 'training set: 60,000 images'
    fig = lh.plot_confusion_matrix(torch.eye(10, dtype=torch.long) * 7)
    assert '7' in [t.get_text() for t in fig.axes[0].texts]
    assert explore.figure_png(fig).startswith(b'\x89PNG')
