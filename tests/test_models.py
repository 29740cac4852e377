import pytest
import torch

import lenet_helpers as lh
from conftest import load_script


def test_lenet_shapes_follow_the_chapter():
    rows = lh.layer_table(lh.lenet())
    shapes = [(r['layer'], r['output'][1:]) for r in rows]
    assert shapes == [
        ('Reshape', (1, 28, 28)), ('Conv2d', (6, 28, 28)), ('Sigmoid', (6, 28, 28)),
        ('AvgPool2d', (6, 14, 14)), ('Conv2d', (16, 10, 10)), ('Sigmoid', (16, 10, 10)),
        ('AvgPool2d', (16, 5, 5)), ('Flatten', (400,)), ('Linear', (120,)), ('Sigmoid', (120,)),
        ('Linear', (84,)), ('Sigmoid', (84,)), ('Linear', (10,))]


def test_lenet_parameters_and_multiply_adds():
    net = lh.lenet()
    assert lh.count_params(net) == 61706
    rows = lh.layer_table(net)
    assert [r['params'] for r in rows if r['params']] == [156, 2416, 48120, 10164, 850]
    # conv1: 6*28*28 outputs x 25 taps; conv2: 16*10*10 x (6*25); then the dense layers
    assert [r['macs'] for r in rows if r['macs']] == [117600, 240000, 48000, 10080, 840]


def test_lenet_takes_flat_or_image_batches():
    net = lh.lenet()
    assert net(torch.rand(3, 784)).shape == (3, 10)
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_layer_table_leaves_training_mode_alone():
    net = lh.build_lenet(batch_norm=True, dropout=0.5)
    net.train()
    lh.layer_table(net)
    assert net.training


def test_build_lenet_defaults_are_the_chapters_lenet():
    a, b = lh.layer_table(lh.build_lenet()), lh.layer_table(lh.lenet())
    assert a == b


def test_build_lenet_options_change_the_network():
    net = lh.build_lenet(channels=(8, 16, 32), kernel_sizes=(3, 3, 3), paddings=(1, 1, 1), strides=(1, 1, 1),
                         activation='relu', pool='max', hidden=(64,), batch_norm=True, dropout=0.2)
    names = [r['layer'] for r in lh.layer_table(net)]
    assert names.count('Conv2d') == 3 and names.count('MaxPool2d') == 3 and 'BatchNorm2d' in names
    assert 'Dropout' in names and names.count('Linear') == 2 and 'ReLU' in names
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_pool_first_moves_pooling_before_norm_and_activation():
    knobs = dict(channels=(8, 16), activation='relu', pool='max', batch_norm=True)
    after = [r['layer'] for r in lh.layer_table(lh.build_lenet(**knobs))]
    first = [r['layer'] for r in lh.layer_table(lh.build_lenet(pool_first=True, **knobs))]
    assert after[1:5] == ['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d']
    assert first[1:5] == ['Conv2d', 'MaxPool2d', 'BatchNorm2d', 'ReLU']
    assert sorted(first) == sorted(after)
    # Batch norm after pooling works on the smaller map: same output shapes, same parameter count.
    a, b = lh.build_lenet(**knobs), lh.build_lenet(pool_first=True, **knobs)
    assert lh.count_params(a) == lh.count_params(b) and b(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_pool_first_without_batch_norm_gives_the_same_function_for_relu_and_max():
    # max and ReLU commute, so without batch norm pooling first changes the cost and not the result.
    torch.manual_seed(0)
    a = lh.build_lenet(channels=(8, 16), activation='relu', pool='max')
    b = lh.build_lenet(channels=(8, 16), activation='relu', pool='max', pool_first=True)
    b.load_state_dict(a.state_dict())
    x = torch.rand(4, 1, 28, 28)
    assert torch.allclose(a(x), b(x), atol=1e-6)


def test_layers_in_front_of_batch_norm_have_no_bias_and_relu_after_it_works_in_place():
    net = lh.build_lenet(channels=(8, 16), activation='relu', pool='max', hidden=(32,), batch_norm=True)
    convs_and_dense = [m for m in net if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert [m.bias is None for m in convs_and_dense] == [True, True, True, False]  # the output layer keeps one
    assert all(m.inplace for m in net if isinstance(m, torch.nn.ReLU))
    plain = lh.build_lenet(channels=(8, 16), activation='relu', pool='max', hidden=(32,))
    assert all(m.bias is not None for m in plain if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert not any(m.inplace for m in plain if isinstance(m, torch.nn.ReLU))  # nothing to overwrite safely
    # No bias on the 8 + 16 + 32 channels and units in front of batch norm; batch norm adds a scale and shift each.
    assert lh.count_params(net) == lh.count_params(plain) - (8 + 16 + 32) + 2 * (8 + 16 + 32)


def test_batch_norm_cancels_a_bias_in_front_of_it():
    torch.manual_seed(0)
    net = lh.build_lenet(channels=(8, 16), activation='relu', pool='max', hidden=(32,), batch_norm=True)
    assert isinstance(net[1], torch.nn.Conv2d) and isinstance(net[2], torch.nn.BatchNorm2d)
    shifted = torch.nn.Sequential(*net[:2], _AddPerChannel(torch.randn(8)), *net[2:])  # conv1 with a bias
    x = torch.rand(16, 1, 28, 28)
    assert torch.allclose(shifted(x), net(x), atol=1e-5)  # training mode: the batch's mean takes it out


class _AddPerChannel(torch.nn.Module):
    def __init__(self, shift):
        super().__init__()
        self.shift = shift

    def forward(self, x):
        return x + self.shift.view(1, -1, 1, 1)


def test_in_place_relu_leaves_the_feature_maps_the_explorer_shows_alone():
    from lenet_helpers.activations import block_outputs
    net = lh.lenet_plus().eval()
    x = torch.rand(2, 1, 28, 28)
    maps = block_outputs(net, x)
    with torch.no_grad():  # the first block's output, computed by hand: conv1 then max pooling
        pooled = torch.nn.functional.max_pool2d(net[1](net[0](x)), 2)
    assert torch.equal(maps[0], pooled) and (pooled < 0).any()  # ReLU did not overwrite it


@pytest.mark.parametrize('kwargs, fragment', [
    ({'kernel_sizes': (5, 15)}, 'conv2: the input map is 14x14 but the kernel is 15x15'),
    ({'channels': (6, 16, 32), 'kernel_sizes': (5, 5, 7), 'paddings': (2, 0, 0), 'strides': (1, 1, 1)},
     'conv3: the input map is 5x5 but the kernel is 7x7'),
    ({'pool_size': 4}, 'pool2: the map after conv2 is only 3x3'),
    ({'activation': 'swish'}, 'Unknown activation'),
    ({'pool': 'median'}, 'Unknown pooling'),
    ({'kernel_sizes': (5,)}, 'one kernel size, padding and stride per conv layer'),
])
def test_impossible_designs_are_explained(kwargs, fragment):
    with pytest.raises(lh.DesignError, match=fragment):
        lh.build_lenet(**kwargs)


def test_get_model_by_name():
    assert lh.count_params(lh.get_model('lenet')) == 61706
    with pytest.raises(ValueError, match='Unknown model'):
        lh.get_model('alexnet')


def test_plus_step_benchmark_builds_lenet_plus_with_its_biases_back():
    plus_step = load_script('benchmarks/plus_step.py')
    net = plus_step.with_biases(lh.lenet_plus())
    assert all(m.bias is not None for m in net if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert not any(m.inplace for m in net if isinstance(m, torch.nn.ReLU))
    assert lh.count_params(net) == lh.count_params(lh.lenet_plus()) + 16 + 32 + 64 + 128
    plus_step.make_step(net, batch=4)()  # one training step runs


def test_interleave_conv2_nchw_candidate_trains_the_same_function_in_another_layout():
    interleave = load_script('benchmarks/interleave.py')
    g = torch.Generator().manual_seed(0)
    images, labels = torch.randint(0, 256, (512, 28, 28), dtype=torch.uint8, generator=g), torch.arange(512) % 10
    runs = {name: interleave.make(name, images, labels) for name in ('baseline', 'conv2-nchw')}
    seen = []
    runs['conv2-nchw'].net[4].register_forward_hook(lambda m, args, out: seen.append(args[0].is_contiguous()))
    for run in runs.values():
        run(3)
    assert seen == [True] * 3  # the second convolution got its input in the default layout
    assert runs['conv2-nchw'].net[4].weight.is_contiguous()
    assert runs['baseline'].net[4].weight.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(runs['baseline'].net.parameters(), runs['conv2-nchw'].net.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)  # same batches, same function: same weights
    assert not torch.equal(runs['baseline'].net[1].weight, interleave.make('baseline', images, labels).net[1].weight)
