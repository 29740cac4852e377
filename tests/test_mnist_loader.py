"""The MNIST loader on generated IDX files, and notebook 07's availability check (no network needed)."""
import gzip

import pytest
import torch

import lenet_helpers as lh
from lenet_helpers import controls as B
from lenet_helpers import html as H
from lenet_helpers import experiments as E
from lenet_helpers import data as D


def write_idx(path, tensor, gz=False):
    """Write a uint8 tensor as an IDX file (magic 2049 for 1-D labels, 2051 for 3-D images)."""
    header = (2051 if tensor.dim() == 3 else 2049).to_bytes(4, 'big')
    header += b''.join(int(s).to_bytes(4, 'big') for s in tensor.shape)
    blob = header + tensor.contiguous().numpy().tobytes()
    if gz:
        path = path.with_name(path.name + '.gz')
        with gzip.open(path, 'wb', compresslevel=1) as f:
            f.write(blob)
    else:
        path.write_bytes(blob)
    return path


def fake_mnist(root, gz_test=False, truncate=False):
    """A complete MNIST folder root/MNIST/raw: image i has i % 256 in pixel (0, 0) and its label i % 10 in pixel (0, 1)."""
    raw = root / 'MNIST' / 'raw'
    raw.mkdir(parents=True)
    for split, (images_stem, labels_stem, n) in D.SPLITS.items():
        images = torch.zeros(n, 28, 28, dtype=torch.uint8)
        images[:, 0, 0] = torch.arange(n) % 256
        images[:, 27, 27] = 255
        images[:, 0, 1] = torch.arange(n) % 10  # the label, written into the image
        labels = (torch.arange(n) % 10).to(torch.uint8)
        gz = gz_test and split == 'test'
        write_idx(raw / images_stem, images, gz)
        path = write_idx(raw / labels_stem, labels, gz)
    if truncate:
        path.write_bytes(path.read_bytes()[:-5])
    return raw


@pytest.fixture(autouse=True)
def no_other_copies(tmp_path, monkeypatch):
    """Only the folders a test creates count: no $LENET_DATA_DIR, no project data, no system package."""
    monkeypatch.delenv('LENET_DATA_DIR', raising=False)
    monkeypatch.setattr(D, 'PROJECT_DATA_DIR', tmp_path / 'project-data')
    monkeypatch.setattr(D, 'SYSTEM_DIRS', {})


def test_generated_idx_files_load_with_the_right_shapes_dtypes_and_values(tmp_path):
    fake_mnist(tmp_path)
    train_iter, test_iter = lh.load_data_mnist(100, root=tmp_path, download=False)
    assert train_iter.num_examples == 60000 and test_iter.num_examples == 10000
    X, y = next(iter(test_iter))  # the test set is not shuffled
    assert X.shape == (100, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.allclose(X[:, 0, 0, 0], (torch.arange(100) % 256).float() / 255)
    assert float(X[:, 0, 27, 27].min()) == 1.0 and float(X.min()) == 0.0
    assert torch.equal(y, torch.arange(100) % 10)
    Xt, yt = next(iter(train_iter))
    assert torch.equal(yt, (Xt[:, 0, 0, 1] * 255).round().long())  # shuffled, but images keep their labels


def test_gzipped_files_and_subsets(tmp_path):
    fake_mnist(tmp_path, gz_test=True)
    train_iter, test_iter = lh.load_data_mnist(64, root=tmp_path, download=False, n_train=256, n_test=128)
    assert (train_iter.num_examples, test_iter.num_examples, len(train_iter)) == (256, 128, 4)


def test_damaged_file_is_named_in_the_error(tmp_path):
    raw = fake_mnist(tmp_path, truncate=True)
    with pytest.raises(lh.DataNotFoundError, match='truncated'):
        lh.load_data_mnist(64, root=tmp_path, download=False)
    assert raw.exists()


def test_availability_check_finds_mnist(tmp_path):
    fake_mnist(tmp_path)
    train_iter, test_iter, message = E.try_mnist(128, root=tmp_path, download=False, n_train=512)
    assert train_iter.num_examples == 512 and test_iter.num_examples == 10000
    assert message.startswith('MNIST found') and str(tmp_path) in message


def test_availability_check_explains_what_to_do_when_mnist_is_missing(tmp_path):
    train_iter, test_iter, message = E.try_mnist(128, root=tmp_path / 'empty', download=False)
    assert train_iter is None and test_iter is None
    assert 'skipped' in message and 'root=DIR' in message and 'LENET_DATA_DIR' in message


def test_dataset_table_never_invents_a_measurement():
    log = lh.RunLog()
    h = lh.History(epoch=[1], train_loss=[.3], train_acc=[.9], test_acc=[.91], seconds=[12.0], stopped='completed')
    log.add('lenet on Fashion-MNIST', h, model='lenet', dataset='Fashion-MNIST')
    table = H.dataset_table(log)
    assert '0.9100 (9.00% error' in table
    assert table.count('not measured here') == 3  # lenet on MNIST, lenet_plus on both
    assert '0.95% error' in table and 'published' in table


def test_dataset_lab_trains_and_explains_a_missing_dataset():
    from test_builder import tiny_data
    lab = B.DatasetLab({'Fashion-MNIST': tiny_data(), 'MNIST': None}, epochs=1)
    lab.dataset.value = 'MNIST'
    lab.train_button.click()
    lab.wait()
    assert 'not available' in lab.message.value and len(lab.log) == 0
    lab.dataset.value = 'Fashion-MNIST'
    lab.model.value = 'lenet_plus'
    before = lab.table.value
    lab.train_button.click()
    lab.wait()
    assert len(lab.log) == 1 and lab.log[0].settings == {'model': 'lenet_plus', 'dataset': 'Fashion-MNIST'}
    assert lab.table.value != before and lab.table.value.count('not measured here') == 3
