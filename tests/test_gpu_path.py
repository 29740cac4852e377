"""The GPU path, checked on the CPU: data moved once, the device-agnostic loop, and gpu_check's script."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lenet_helpers as lh
from lenet_helpers import training
from lenet_helpers.data import ImageBatches
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent


def load_gpu_check():
    return load_script('benchmarks/gpu_check.py')


def gpu_check_with_completed_runs(monkeypatch):
    """gpu_check with small data and its three training runs replaced by completed ones (the checks after them run)."""
    gc = load_gpu_check()
    monkeypatch.setattr(gc.lh, 'load_data_fashion_mnist', lambda *a, **k: (small_batches(), small_batches(32)))
    for name in ('ours_run', 'plus_run', 'chapter_run'):
        monkeypatch.setattr(gc, name, lambda *a, **k: {'stopped': 'completed', 'seconds': 1.0, 'test_acc': 0.95,
                                                       'examples_per_sec': 1000.0})
    return gc


def small_batches(n=64, batch_size=16, shuffle=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)
    return ImageBatches(images, torch.arange(n) % 10, batch_size, shuffle, generator=torch.Generator().manual_seed(1))


def test_image_batches_to_a_device_keeps_uint8_batches_and_attributes():
    it = small_batches(shuffle=True)
    it.source = '/some/folder'
    moved = it.to('cpu')
    assert moved is not it and moved.images.dtype == torch.uint8 and moved.source == '/some/folder'
    assert (moved.batch_size, moved.shuffle, len(moved)) == (16, True, 4)
    it.generator.manual_seed(5)
    first = [(X.clone(), y.clone()) for X, y in it]
    it.generator.manual_seed(5)
    second = list(moved)
    assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(first, second))


def test_to_device_copies_image_batches_once_for_a_gpu_and_leaves_others(monkeypatch):
    moves = []
    monkeypatch.setattr(ImageBatches, 'to', lambda self, device: moves.append(device) or 'moved')
    it, cuda = small_batches(), torch.device('cuda')
    assert training._to_device(it, cuda) == 'moved' and moves == [cuda]
    assert training._to_device(it, torch.device('cpu')) is it     # already where the net is
    batches = list(small_batches())
    assert training._to_device(batches, cuda) is batches           # a list or DataLoader: moved per batch
    assert len(moves) == 1


@pytest.mark.parametrize('epochs', [1, 3])
def test_train_ch6_moves_the_data_once_per_run_not_per_epoch(monkeypatch, epochs):
    calls = []
    original = training._to_device
    monkeypatch.setattr(training, '_to_device', lambda it, device: calls.append(it) or original(it, device))
    train_iter, test_iter = small_batches(), small_batches(32)
    lh.train_ch6(lh.lenet(), train_iter, test_iter, epochs, 0.5, 'cpu', animate=False, progress=False, threads=1)
    assert calls == [train_iter, test_iter]


def test_gpu_check_tiny_on_the_cpu_runs_all_three(fake_fashion, monkeypatch, capsys):
    root, _ = fake_fashion
    monkeypatch.setenv('LENET_DATA_DIR', str(root))
    assert load_gpu_check().main(['--device', 'cpu', '--tiny']) == 0
    out = capsys.readouterr().out
    for name in ('chapter', 'ours ', 'ours (amp)', 'lenet_plus'):
        assert any(line.startswith(name) and line.endswith('completed') for line in out.splitlines()), out
    assert 'torch ' in out and 'ours / chapter:' in out and 'all runs completed' in out
    assert "train_ch6's closing line said" in out and 'host syncs' not in out  # counted on CUDA only
    assert 'notebook helpers on a net on cpu: all worked' in out


def test_gpu_check_fails_when_a_notebook_helper_fails(monkeypatch, capsys):
    gc = gpu_check_with_completed_runs(monkeypatch)

    def device_mismatch(*a):
        raise RuntimeError('Expected all tensors to be on the same device')
    monkeypatch.setattr(gc.lh, 'block_outputs', device_mismatch)
    assert gc.main(['--device', 'cpu']) == 1
    assert 'a notebook helper failed on a net on cpu: RuntimeError: Expected all tensors' in capsys.readouterr().err


def test_block_outputs_are_the_block_maps_on_the_cpu():
    """block_outputs returns what the layers compute up to each pooling, as CPU tensors (gpu_check runs it on CUDA)."""
    torch.manual_seed(0)
    net, x = lh.lenet(), torch.rand(2, 1, 28, 28)
    outs = lh.block_outputs(net, x)
    assert [tuple(o.shape) for o in outs] == [(2, 6, 14, 14), (2, 16, 5, 5)]
    assert all(o.device.type == 'cpu' for o in outs)
    with torch.no_grad():
        assert torch.allclose(outs[1], net[:7](x))


@pytest.mark.parametrize('syncs, fails, said', [
    ((27, 469), False, 'host syncs in one epoch of ours: 27 for 469 batches\n'),
    ((469, 469), True, 'synced with the host 469 times in 469 batches'),
    ((0, 469), False, 'this count proves nothing'),
])
def test_gpu_check_fails_when_ours_syncs_every_step(monkeypatch, capsys, syncs, fails, said):
    gc = gpu_check_with_completed_runs(monkeypatch)
    monkeypatch.setattr(gc, 'count_syncs', lambda *a: syncs)
    assert gc.main(['--device', 'cpu']) == (1 if fails else 0)
    out = capsys.readouterr()
    assert said in out.out + out.err


def test_gpu_check_without_cuda_says_so_and_fails(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert load_gpu_check().main([]) == 2
    assert 'no CUDA device' in capsys.readouterr().err


@pytest.mark.parametrize('broken, fragment', [
    ('ours_run', 'ours ended failed: RuntimeError: CUDA error'),
    ('plus_run', 'lenet_plus ended failed'),
    ('chapter_run', 'chapter ended failed'),
])
def test_gpu_check_fails_when_a_run_fails(monkeypatch, capsys, broken, fragment):
    gc = gpu_check_with_completed_runs(monkeypatch)

    def fail(*a, **k):
        raise RuntimeError('CUDA error: an illegal memory access')
    monkeypatch.setattr(gc, broken, fail)
    assert gc.main(['--device', 'cpu']) == 1
    assert fragment in capsys.readouterr().err


def test_gpu_check_fails_on_low_accuracy_outside_tiny(monkeypatch, capsys):
    gc = load_gpu_check()
    monkeypatch.setattr(gc.lh, 'load_data_fashion_mnist', lambda *a, **k: (small_batches(), small_batches(32)))
    for name, acc in (('ours_run', 0.1), ('plus_run', 0.95), ('chapter_run', 0.8)):
        monkeypatch.setattr(gc, name, lambda *a, _acc=acc, **k: {'stopped': 'completed', 'seconds': 1.0,
                                                                 'test_acc': _acc, 'examples_per_sec': 10.0})
    assert gc.main(['--device', 'cpu']) == 1
    err = capsys.readouterr().err
    assert 'ours reached test accuracy 0.100, below 0.7' in err and 'chapter' not in err


def test_gpu_check_sh_exits_nonzero_with_a_message_without_cuda():
    env = {**os.environ, 'CUDA_VISIBLE_DEVICES': '', 'PYTHON': sys.executable}
    out = subprocess.run(['bash', str(ROOT / 'benchmarks' / 'gpu_check.sh')], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 2 and 'no CUDA device is visible' in out.stderr
