"""memory.py: glibc keeps freed training buffers for reuse, so steps stop faulting in fresh pages."""
import subprocess
import sys

import pytest

import lenet_helpers as lh
from lenet_helpers import memory

from test_training import toy_iters


class FakeLibc:
    def __init__(self, answer=1):
        self.calls, self.answer = [], answer

    def mallopt(self, param, value):
        self.calls.append(('mallopt', param, value))
        return self.answer

    def malloc_trim(self, pad):
        self.calls.append(('malloc_trim', pad))
        return self.answer


def test_keep_freed_memory_sets_both_thresholds():
    libc = FakeLibc()
    assert memory.keep_freed_memory(libc) is True
    assert libc.calls == [('mallopt', memory.M_MMAP_THRESHOLD, 64 << 20),
                          ('mallopt', memory.M_TRIM_THRESHOLD, 256 << 20)]


def test_a_refused_setting_is_reported_not_raised():
    assert memory.keep_freed_memory(FakeLibc(answer=0)) is False


def test_release_trims_the_heap():
    libc = FakeLibc()
    assert memory.release_freed_memory(libc) is True
    assert libc.calls == [('malloc_trim', 0)]


def test_without_glibc_nothing_happens(monkeypatch):
    monkeypatch.setattr(memory.sys, 'platform', 'darwin')
    assert memory._glibc() is None
    assert memory.keep_freed_memory() is False and memory.release_freed_memory() is False


def test_train_ch6_keeps_freed_memory_on_the_cpu_and_gives_it_back_after(monkeypatch):
    calls = []
    monkeypatch.setattr('lenet_helpers.training.keep_freed_memory', lambda: calls.append('keep'))
    monkeypatch.setattr('lenet_helpers.training.release_freed_memory', lambda: calls.append('release'))
    train_iter, test_iter = toy_iters()
    lh.train_ch6(lh.lenet(), train_iter, test_iter, 1, 0.9, 'cpu', animate=False, progress=False)
    assert calls == ['keep', 'release']


# Allocate, fill and free a 48 MB tensor 20 times; print the minor page faults that took.
FAULTS = '''
import resource, sys, torch
from lenet_helpers import memory
if sys.argv[1] == 'keep':
    assert memory.keep_freed_memory()
for _ in range(3):
    torch.empty(12 << 20).fill_(1.0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    torch.empty(12 << 20).fill_(1.0)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
'''


@pytest.mark.skipif(memory._glibc() is None, reason='mallopt is glibc-only; elsewhere keep_freed_memory does nothing')
def test_with_glibc_a_freed_buffer_is_reused_instead_of_faulted_in_again():
    faults = {how: int(subprocess.run([sys.executable, '-c', FAULTS, how], capture_output=True, text=True,
                                      check=True).stdout) for how in ('default', 'keep')}
    per_buffer = (48 << 20) // 4096  # pages of one 48 MB buffer
    assert faults['default'] > 10 * per_buffer  # most of the 20 allocations faulted in afresh
    assert faults['keep'] <= 2 * per_buffer     # at most two of them (one was seen on a fresh CI machine)
