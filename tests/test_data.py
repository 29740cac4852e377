import gzip
import socket

import pytest
import torch

import lenet_helpers as lh
from lenet_helpers import data
from conftest import make_idx_dataset, write_idx


def test_reads_generated_dataset_with_right_shapes_and_values(fake_fashion):
    root, tensors = fake_fashion
    train_iter, test_iter = lh.load_data_fashion_mnist(256, root=root, download=False)
    assert (train_iter.num_examples, test_iter.num_examples) == (60000, 10000)
    assert len(train_iter) == 235 and len(test_iter) == 40  # ceil(60000/256), ceil(10000/256)
    X, y = next(iter(test_iter))  # the test set is not shuffled: first batch = first images
    assert X.shape == (256, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert torch.equal((X[:, 0] * 255).round().to(torch.uint8), tensors['test'][0][:256])
    assert torch.equal(y, tensors['test'][1][:256].long())


def test_training_set_is_shuffled_each_pass_and_covers_every_example(fake_fashion):
    root, _ = fake_fashion
    train_iter, _ = lh.load_data_fashion_mnist(1000, root=root, download=False, seed=1)
    first = torch.cat([y for _, y in train_iter])
    second = torch.cat([y for _, y in train_iter])
    assert len(first) == 60000 and not torch.equal(first, second)
    assert torch.equal(torch.bincount(first), torch.bincount(second))


def test_seeded_loaders_give_the_same_order(fake_fashion):
    root, _ = fake_fashion
    a, _ = lh.load_data_fashion_mnist(64, root=root, download=False, seed=7)
    b, _ = lh.load_data_fashion_mnist(64, root=root, download=False, seed=7)
    assert all(torch.equal(ya, yb) for (_, ya), (_, yb) in zip(a, b))


def test_resize_is_applied_to_each_batch(fake_fashion):
    root, _ = fake_fashion
    _, test_iter = lh.load_data_fashion_mnist(32, resize=64, root=root, download=False, n_test=100)
    X, _ = next(iter(test_iter))
    assert X.shape == (32, 1, 64, 64)
    assert len(test_iter) == 4


def test_subset_and_dataset_view(fake_fashion):
    root, tensors = fake_fashion
    train_iter, _ = lh.load_data_fashion_mnist(10, root=root, download=False, n_train=25)
    assert len(train_iter) == 3 and len(train_iter.dataset) == 25
    image, label = train_iter.dataset[3]
    assert image.shape == (1, 28, 28) and label == int(tensors['train'][1][3])


def test_uncompressed_files_and_env_variable_are_found(tmp_path, monkeypatch):
    make_idx_dataset(tmp_path / 'FashionMNIST' / 'raw', n_train=60000, n_test=10000, gz=False)
    monkeypatch.setenv('LENET_DATA_DIR', str(tmp_path))
    train_iter, _ = lh.load_data_fashion_mnist(128, download=False)
    assert train_iter.num_examples == 60000
    assert data.locate('FashionMNIST') == tmp_path / 'FashionMNIST'


@pytest.mark.parametrize('bad', ['missing', 'truncated', 'magic', 'count', 'label'])
def test_damaged_or_missing_files_give_one_clear_message(tmp_path, monkeypatch, bad):
    monkeypatch.setattr(data, 'PROJECT_DATA_DIR', tmp_path / 'nothing_here')
    monkeypatch.setattr(data, 'SYSTEM_DIRS', {})
    folder, tensors = make_idx_dataset(tmp_path / 'FashionMNIST', n_train=60000, n_test=10000)
    target = folder / 'train-labels-idx1-ubyte'
    if bad == 'missing':
        target.unlink()
    elif bad == 'truncated':
        target.write_bytes(target.read_bytes()[:-100])
    elif bad == 'magic':
        raw = bytearray(target.read_bytes())
        raw[2] = 7
        target.write_bytes(bytes(raw))
    elif bad == 'count':
        write_idx(target, tensors['train'][1][:59000])
    elif bad == 'label':
        labels = tensors['train'][1].clone()
        labels[5] = 12
        write_idx(target, labels)
    with pytest.raises(lh.DataNotFoundError) as err:
        lh.load_data_fashion_mnist(128, root=tmp_path, download=False)
    message = str(err.value)
    expected = {'missing': 'was not found', 'truncated': 'truncated', 'magic': 'not an IDX file',
                'count': 'expected (60000,)', 'label': 'expected 0 to 9'}[bad]
    assert expected in message
    assert 'dataset-fashion-mnist' in message and 'LENET_DATA_DIR' in message
    if bad != 'missing':
        assert 'train-labels-idx1-ubyte' in message


def test_truncated_gzip_is_reported_as_damaged(tmp_path):
    path = tmp_path / 'x.gz'
    with gzip.open(path, 'wb') as f:
        f.write(b'\x00\x00\x08\x01' + (1000).to_bytes(4, 'big') + bytes(1000))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(lh.DataNotFoundError, match='damaged'):
        data.read_idx(path)


def test_offline_download_fails_fast_with_advice(tmp_path, monkeypatch):
    """With no files anywhere and no network, the loader explains instead of hanging."""
    monkeypatch.setattr(data, 'PROJECT_DATA_DIR', tmp_path / 'empty')
    monkeypatch.setattr(data, 'SYSTEM_DIRS', {})

    def refuse(*args, **kwargs):
        raise OSError('network is unreachable (simulated)')
    monkeypatch.setattr(socket, 'create_connection', refuse)
    monkeypatch.setattr(socket.socket, 'connect', lambda *a, **k: refuse())
    (tmp_path / 'empty').mkdir()
    with pytest.raises(lh.DataNotFoundError) as err:
        lh.load_data_mnist(128, root=tmp_path / 'empty')
    assert 'the download into the folder you named' in str(err.value) and 'failed' in str(err.value)
    assert 'root=DIR' in str(err.value)
    assert list((tmp_path / 'empty').iterdir()) == []  # the failed download left no empty MNIST/raw folders


@pytest.mark.parametrize('kwargs, fragment', [
    ({'batch_size': 0}, 'batch_size must be a positive integer'),
    ({'batch_size': 2.5}, 'batch_size must be a positive integer'),
    ({'batch_size': 8, 'resize': 0}, 'resize must be a positive integer'),
    ({'batch_size': 8, 'resize': 'big'}, 'resize must be a positive integer'),
    ({'batch_size': 8, 'resize': (28, -1)}, 'resize must be a positive integer'),
])
def test_bad_loader_arguments_raise_before_any_work(kwargs, fragment, monkeypatch):
    monkeypatch.setattr(data, 'load_split', lambda *a, **k: pytest.fail('work started'))
    with pytest.raises(ValueError, match=fragment):
        lh.load_data_fashion_mnist(**kwargs)


def test_text_labels():
    assert lh.get_text_labels([0, 2, 9]) == ['T-shirt/top', 'Pullover', 'Ankle boot']
    assert len(lh.FASHION_MNIST_CLASSES) == 10


REAL = data.locate('FashionMNIST')


def test_real_fashion_mnist_when_present():
    """On CI the Debian package provides the real files; check their known class balance."""
    if REAL is None:
        pytest.fail('The real Fashion-MNIST is not on this machine: run `make data` (or install '
                    'the Debian package dataset-fashion-mnist) before the tests.')
    train_iter, test_iter = lh.load_data_fashion_mnist(128)
    assert torch.equal(torch.bincount(train_iter.labels), torch.full((10,), 6000))
    assert torch.equal(torch.bincount(test_iter.labels), torch.full((10,), 1000))
    assert train_iter.images.dtype == torch.uint8

