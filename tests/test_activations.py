"""Feature maps, kernels, class averages and the explorer of notebook 08 (and the pooling maps of 05)."""
import matplotlib
import pytest
import torch

import lenet_helpers as lh
from lenet_helpers import activations as A
from lenet_helpers.data import ImageBatches

matplotlib.use('Agg')


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (200, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(200) % 10  # 20 images of every class
    return ImageBatches(images, labels, 64)


def test_block_outputs_of_lenet_and_lenet_plus():
    x = torch.rand(1, 1, 28, 28)
    assert [tuple(o.shape) for o in A.block_outputs(lh.lenet(), x)] == [(1, 6, 14, 14), (1, 16, 5, 5)]
    assert [tuple(o.shape) for o in A.block_outputs(lh.lenet_plus(), x)] == [(1, 16, 14, 14), (1, 32, 7, 7),
                                                                             (1, 64, 3, 3)]
    no_pool = lh.build_lenet(pool=None, activation='relu', batch_norm=True)
    outs = A.block_outputs(no_pool, x)
    assert [tuple(o.shape) for o in outs] == [(1, 6, 28, 28), (1, 16, 24, 24)] and (outs[0] >= 0).all()


def test_block_outputs_are_what_the_layers_compute():
    net, x = lh.lenet(), torch.rand(1, 1, 28, 28)
    expected = net[3](net[2](net[1](x)))
    assert torch.allclose(A.block_outputs(net, x)[0], expected)


def test_pick_example_finds_the_class_and_explains_bad_choices(data):
    x = A.pick_example(data, 'Coat', 3)
    assert x.shape == (1, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    assert torch.equal(x[0, 0], data.images[4 + 10 * 3].float() / 255)  # label 4 is Coat
    with pytest.raises(ValueError, match='20 images of class'):
        A.pick_example(data, 'Coat', 20)
    with pytest.raises(ValueError, match='Pullover'):
        A.pick_example(data, 'Sweater')


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    net = lh.lenet()
    path = A.save_checkpoint(net, tmp_path / 'sub' / 'lenet.pt')
    other = A.load_checkpoint(lh.lenet(), path)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), other.state_dict().values()))
    torch.load(path, weights_only=True)  # plain tensors only


def test_class_mean_activations_matches_a_direct_computation(data):
    net = lh.lenet()
    means = A.class_mean_activations(net, data, block=1)
    assert means.shape == (10, 16)
    X = data.images[data.labels == 2].float().div(255).unsqueeze(1)
    direct = A.block_outputs(net, X)[1].mean(dim=(0, 2, 3))
    assert torch.allclose(means[2], direct, atol=1e-5)


def test_feature_map_figure_uses_one_labelled_scale_per_block():
    net = lh.lenet()
    rows = [(name, x, A.block_outputs(net, x)) for name, x in (('a', torch.rand(1, 1, 28, 28)),
                                                                  ('b', torch.zeros(1, 1, 28, 28)))]
    fig = A.plot_block_maps(rows)
    images = [im for ax in fig.get_axes() for im in ax.get_images()]
    assert len(images) == 2 + 2 * (6 + 16)
    block1 = {im.get_clim() for im in images if im.get_array().shape == (14, 14)}
    block2 = {im.get_clim() for im in images if im.get_array().shape == (5, 5)}
    assert len(block1) == 1 and len(block2) == 1  # both inputs drawn on the same scale
    labels = [ax.get_xlabel() for ax in fig.get_axes()]
    assert sum('one scale for both rows' in lab for lab in labels) == 2


def test_kernels_and_class_means_figures(data):
    net = lh.lenet()
    fig = A.plot_kernels(net)
    clims = {im.get_clim() for ax in fig.get_axes() for im in ax.get_images()}
    assert len(clims) == 1 and list(clims)[0][0] == -list(clims)[0][1]  # symmetric around zero
    fig = A.plot_class_means(A.class_mean_activations(net, data))
    assert 'Pullover minus Coat' in fig.get_axes()[1].get_ylabel()


def test_explorer_redraws_when_a_control_changes_and_explains_bad_indices(data):
    ex = A.FeatureMapExplorer(lh.lenet(), data)
    first = ex.image.value
    assert first[:4] == b'\x89PNG' and ex.message.value == ''
    ex.class_b.value = 'Bag'
    assert ex.image.value != first
    second = ex.image.value
    ex.index_a.value = 50  # only 20 pullovers here
    assert 'pick an index from 0 to 19' in ex.message.value and ex.image.value == second
