"""Class 6: every knob of build_lenet / Design / layer_table is checked and named before torch sees it."""
import pytest
import torch

import lenet_helpers as lh
from lenet_helpers import models


@pytest.mark.parametrize('knobs, fragment', [
    # silently built before
    ({'pool_size': 0}, 'pool_size must be at least 1, got 0'),
    ({'hidden': (0,)}, r'hidden\[0\] must be at least 1, got 0'),
    ({'num_classes': 0}, 'num_classes must be at least 2, got 0'),
    ({'num_classes': 1}, 'num_classes must be at least 2'),
    # deep torch failures before
    ({'strides': (0, 1)}, r'strides\[0\] must be at least 1, got 0'),
    ({'kernel_sizes': (5, -3)}, r'kernel_sizes\[1\] must be at least 1, got -3'),
    ({'channels': (0, 16)}, r'channels\[0\] must be at least 1, got 0'),
    ({'in_channels': 0}, 'in_channels must be at least 1'),
    ({'input_size': -28}, 'input_size must be at least 1'),
    ({'paddings': (-1, 0)}, r'paddings\[0\] must be at least 0, got -1'),
    # misleading messages before
    ({'strides': (-1, 1)}, r'strides\[0\] must be at least 1, got -1'),
    ({'channels': '6, 16'}, "channels must be a tuple of whole numbers such as \\(6, 16\\), got '6, 16'"),
    # types
    ({'channels': (6.5, 16)}, r'channels\[0\] must be a whole number, got 6.5 \(float\)'),
    ({'kernel_sizes': (True, 5)}, r'kernel_sizes\[0\] must be a whole number, got True'),
    ({'pool_size': 2.0}, 'pool_size must be a whole number'),
    ({'hidden': 120}, 'hidden must be a tuple of whole numbers'),
    ({'dropout': 1.0}, 'dropout must be a number from 0 up to'),
    ({'dropout': -0.1}, 'dropout must be a number from 0 up to'),
    ({'dropout': '0.2'}, 'dropout must be a number'),
    ({'batch_norm': 'yes'}, 'batch_norm must be True or False'),
    ({'pool_first': 1.5}, 'pool_first must be True or False'),
    ({'activation': 3}, 'Unknown activation 3'),
    ({'pool': ['max']}, 'Unknown pooling'),
    ({'channels': ()}, 'channels is empty'),
])
def test_every_knob_is_checked_and_named(knobs, fragment):
    with pytest.raises(lh.DesignError, match=fragment):
        lh.build_lenet(**knobs)
    with pytest.raises(lh.DesignError, match=fragment):
        models.CHAPTER_DESIGN.replace(**knobs).build()


@pytest.mark.parametrize('knobs, fragment', [
    ({'channels': (99_999_999, 16)}, r'channels\[0\] = 99,999,999: conv1 would need about [\d,.]+ GB'),
    ({'channels': (6, 99_999_999)}, r'channels\[1\] = 99,999,999: conv2 would need about [\d,.]+ GB'),
    ({'hidden': (10**9,)}, r'hidden\[0\] = 1,000,000,000: .* would need about [\d,.]+ GB'),
    ({'channels': (70_000, 16)}, r'channels\[0\] = 70,000: conv1 would need about [\d,.]+ MB of memory for the'),
])
def test_huge_designs_are_refused_before_allocation_with_the_memory_they_need(knobs, fragment, monkeypatch):
    def no_allocation(*a, **k):
        raise AssertionError('a layer was allocated')
    monkeypatch.setattr(torch.nn.Conv2d, '__init__', no_allocation)
    monkeypatch.setattr(torch.nn.Linear, '__init__', no_allocation)
    with pytest.raises(lh.DesignError, match=fragment):
        lh.build_lenet(**knobs)


def test_the_memory_figure_is_the_weights_it_would_need():
    """conv1 with 99,999,999 channels of 5x5 kernels: 2.6e9 weights and biases, 4 bytes each."""
    with pytest.raises(lh.DesignError) as err:
        lh.build_lenet(channels=(99_999_999, 16))
    assert 'about 313.6 GB' in str(err.value)  # 99,999,999 channels x 28 x 28 per-image maps x 4 bytes


def test_large_but_sensible_designs_still_build():
    net = lh.build_lenet(channels=(256, 512), hidden=(1024,), dropout=0.5, batch_norm=True)
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    import numpy as np
    net = lh.build_lenet(channels=[np.int64(6), 16], kernel_sizes=[5, 5], pool_size=np.int32(2), dropout=0)
    assert lh.count_params(net) == 61706


@pytest.mark.parametrize('shape', [(1, 1, 32, 32), (1, 1, 20, 20), (1, 3, 28, 28)])
def test_layer_table_on_an_input_the_net_cannot_take_gives_check_nets_message(shape):
    net = lh.lenet()
    with pytest.raises(lh.DesignError) as table_err:
        lh.layer_table(net, shape)
    with pytest.raises(lh.DesignError) as check_err:
        models.check_net(net, shape)
    assert str(table_err.value) == str(check_err.value)
    assert str(table_err.value).startswith('layer ') and 'Feed images of the size' in str(table_err.value) \
        or 'expects 400 inputs' in str(table_err.value)


@pytest.mark.parametrize('shape', [(1, 1, 0, 28), (1, 1, -5, 28), 'big', (1, 28, 28), (1.0, 1, 28, 28)])
def test_layer_table_refuses_a_shape_that_is_not_a_batch(shape):
    with pytest.raises(lh.DesignError, match='input_shape must be'):
        lh.layer_table(lh.lenet(), shape)


def test_a_saved_design_with_unknown_or_bad_settings_is_refused_by_name():
    saved = models.LENET_PLUS_DESIGN.to_dict()
    assert models.Design.from_dict(saved) == models.LENET_PLUS_DESIGN
    with pytest.raises(lh.DesignError, match='unknown settings: colour'):
        models.Design.from_dict({**saved, 'colour': 'red'})
    with pytest.raises(lh.DesignError, match=r'strides\[1\] must be at least 1'):
        models.Design.from_dict({**saved, 'strides': [1, 0, 1]}).build()


def test_layer_table_and_get_model_refuse_what_they_cannot_walk_or_name():
    with pytest.raises(lh.DesignError, match='walks an nn.Sequential .* got Linear'):
        lh.layer_table(torch.nn.Linear(784, 10))
    with pytest.raises(ValueError, match=r"Unknown model \['lenet'\]"):
        lh.get_model(['lenet'])
