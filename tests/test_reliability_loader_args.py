"""Class 7: odd loader arguments give a clear ValueError before any file is read; --seed says so in CLI words."""
import pytest

import lenet_helpers as lh
from lenet_helpers import cli, data


@pytest.fixture
def no_reading(monkeypatch):
    monkeypatch.setattr(data, 'load_split', lambda *a, **k: pytest.fail('files were read before the check'))


@pytest.mark.parametrize('kwargs, fragment', [
    ({'n_train': -5}, 'n_train must be a whole number of at least 1 .*got -5'),
    ({'n_train': 0}, 'n_train must be a whole number of at least 1'),
    ({'n_train': 2.5}, 'n_train must be a whole number .*got 2.5'),
    ({'n_train': '100'}, "n_train must be a whole number .*got '100'"),
    ({'n_train': True}, 'n_train must be a whole number'),
    ({'n_train': 60001}, 'n_train=60001 asks for more images than the 60,000 there are'),
    ({'n_test': 10**6}, 'n_test=1000000 asks for more images than the 10,000 there are'),
    ({'n_test': -1}, 'n_test must be a whole number of at least 1'),
    ({'batch_size': 0}, 'batch_size must be a positive integer, got 0'),
    ({'batch_size': -64}, 'batch_size must be a positive integer, got -64'),
    ({'batch_size': 64.0}, 'batch_size must be a positive integer, got 64.0'),
    ({'seed': 'a'}, "seed must be a whole number from 0 to 2\\*\\*64 - 1 .*got 'a'"),
    ({'seed': 1e30}, 'seed must be a whole number .*got 1e\\+30'),
    ({'seed': 2**70}, 'seed must be a whole number .*got 1180591620717411303424'),
    ({'seed': -1}, 'seed must be a whole number .*got -1'),
    ({'seed': 1.5}, 'seed must be a whole number'),
])
def test_bad_loader_arguments_are_refused_before_reading(no_reading, kwargs, fragment):
    call = {'batch_size': 64, **kwargs}
    with pytest.raises(ValueError, match=fragment):
        lh.load_data_fashion_mnist(**call)
    with pytest.raises(ValueError, match=fragment):
        lh.load_data_mnist(**call)


def test_the_edges_of_the_ranges_are_accepted(fake_fashion):
    root, _ = fake_fashion
    train_iter, test_iter = lh.load_data_fashion_mnist(1, root=root, seed=2**64 - 1, n_train=60000, n_test=1)
    assert (train_iter.num_examples, test_iter.num_examples, len(test_iter)) == (60000, 1, 1)
    import numpy as np
    train_iter, _ = lh.load_data_fashion_mnist(np.int64(8), root=root, seed=np.int64(0), n_train=np.int32(16))
    assert (len(train_iter), train_iter.batch_size) == (2, 8) and type(train_iter.batch_size) is int


def test_an_unknown_dataset_name_is_refused():
    with pytest.raises(ValueError, match="Unknown dataset 'CIFAR'"):
        data.load_data('CIFAR', 64)


@pytest.mark.parametrize('seed', ['1e30', '-1', str(2**64), 'abc', '1.5'])
def test_cli_seed_accepts_only_what_torch_accepts_in_cli_words(seed, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(['train', '--seed', seed])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f'argument --seed: expected a whole number from 0 to {2**64 - 1}, got {seed!r}' in err
    assert 'Overflow' not in err


def test_cli_seed_at_the_top_of_the_range_is_accepted():
    args = cli.parser().parse_args(['train', '--seed', str(2**64 - 1)])
    assert args.seed == 2**64 - 1


@pytest.mark.parametrize('batch_size, fragment', [(0, 'batch_size must be a positive integer'),
                                                  (-1, 'batch_size must be a positive integer'),
                                                  (2.0, 'batch_size must be a positive integer')])
def test_image_batches_built_by_hand_check_their_batch_size(batch_size, fragment):
    import torch
    with pytest.raises(ValueError, match=fragment):
        data.ImageBatches(torch.zeros(4, 28, 28, dtype=torch.uint8), torch.zeros(4, dtype=torch.long), batch_size)


def test_image_batches_need_one_label_per_image():
    import torch
    with pytest.raises(ValueError, match='4 images, 3 labels'):
        data.ImageBatches(torch.zeros(4, 28, 28, dtype=torch.uint8), torch.zeros(3, dtype=torch.long), 2)
