"""Shared fixtures: small IDX datasets written by the tests themselves (no real data needed), and load_script."""
import gzip
import importlib.util
import struct
from pathlib import Path

import pytest
import torch

from lenet_helpers import data

ROOT = Path(__file__).resolve().parent.parent


def load_script(path):
    """Import one of the project's scripts (a path from the repository root, e.g. 'benchmarks/interleave.py')."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_idx(path, tensor, gz=False):
    """Write a uint8 tensor as an IDX file (optionally gzipped)."""
    header = struct.pack('>HBB', 0, 0x08, tensor.dim()) + b''.join(struct.pack('>I', s) for s in tensor.shape)
    payload = header + tensor.to(torch.uint8).contiguous().numpy().tobytes()
    opener = gzip.open if gz else open
    with opener(path, 'wb') as f:
        f.write(payload)


def make_idx_dataset(folder, n_train=60000, n_test=10000, gz=False, seed=0):
    """Write the four IDX files of a fake 28x28, 10-class dataset into folder; return (folder, tensors)."""
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for split, n in (('train', n_train), ('test', n_test)):
        images = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
        labels = torch.arange(n, dtype=torch.uint8) % 10
        images_stem, labels_stem, _ = data.SPLITS[split]
        suffix = '.gz' if gz else ''
        write_idx(folder / (images_stem + suffix), images, gz)
        write_idx(folder / (labels_stem + suffix), labels, gz)
        tensors[split] = (images, labels)
    return folder, tensors


@pytest.fixture(scope='session')
def fake_fashion(tmp_path_factory):
    """A complete fake Fashion-MNIST (60,000 + 10,000 random images) under root/FashionMNIST/raw, gzipped."""
    root = tmp_path_factory.mktemp('fake_root')
    _, tensors = make_idx_dataset(root / 'FashionMNIST' / 'raw', gz=True)
    return root, tensors


@pytest.fixture(autouse=True)
def no_env_data_dir(monkeypatch):
    """Tests choose their data and checkpoint folders explicitly; make test's LENET_DATA_DIR and
    LENET_CHECKPOINT_DIR (meant for the notebooks) must not leak in."""
    monkeypatch.delenv('LENET_DATA_DIR', raising=False)
    monkeypatch.delenv('LENET_CHECKPOINT_DIR', raising=False)
