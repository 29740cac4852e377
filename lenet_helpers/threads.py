"""How many CPU threads to train with: start from the machine's CPU quota, then keep the fastest measured."""
import math
import os
import statistics
from pathlib import Path

import torch

CGROUP_ROOT = Path('/sys/fs/cgroup')


def _read(path):
    try:
        return Path(path).read_text().split()
    except (OSError, UnicodeDecodeError):
        return None


def cgroup_quota(root=CGROUP_ROOT):
    """The cgroup's CPU quota in CPUs (may be fractional), or None when there is no limit or no cgroup."""
    root = Path(root)
    words = _read(root / 'cpu.max')  # cgroup v2: "max 100000" or "150000 100000"
    if words and len(words) == 2 and words[0] != 'max':
        try:
            quota, period = int(words[0]), int(words[1])
        except ValueError:
            return None
        return quota / period if quota > 0 and period > 0 else None
    for sub in ('cpu', 'cpu,cpuacct', 'cpuacct,cpu', '.'):  # cgroup v1: quota -1 means no limit
        quota, period = _read(root / sub / 'cpu.cfs_quota_us'), _read(root / sub / 'cpu.cfs_period_us')
        if quota and period:
            try:
                q, p = int(quota[0]), int(period[0])
            except ValueError:
                return None
            return q / p if q > 0 and p > 0 else None
    return None


def available_cpus(root=CGROUP_ROOT):
    """CPUs this process may use: the smallest of the cgroup quota (rounded up), its affinity, the core count
    and OMP_NUM_THREADS when the user set it (a cap the user chose, e.g. for a shared machine)."""
    counts = [os.cpu_count() or 1]
    if hasattr(os, 'sched_getaffinity'):
        counts.append(len(os.sched_getaffinity(0)))
    quota = cgroup_quota(root)
    if quota is not None:
        counts.append(math.ceil(quota))
    omp = os.environ.get('OMP_NUM_THREADS', '').strip()
    if omp.isdigit() and int(omp) > 0:
        counts.append(int(omp))
    return max(1, min(counts))


def candidate_threads(n):
    """Thread counts worth trying on n CPUs: 1..n up to 4, then powers of two and n itself."""
    if n <= 4:
        return list(range(1, n + 1))
    return sorted({2 ** k for k in range(n.bit_length()) if 2 ** k <= n} | {n})


def check_threads(threads):
    """Return threads if it is None or a positive int, else raise ValueError."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f'threads must be a positive integer, or None to choose from the machine, '
                         f'got {threads!r}.')
    return threads


class ThreadTuner:
    """Tries each candidate thread count on a few batches, keeps the fastest, and tries again now and then.

    Feed it the duration of every training batch with ``record(seconds, examples)``; it switches
    torch's thread count (through ``set_threads``) while it measures. A trial runs at the start and
    again every ``recheck_every`` batches, or sooner (but at least ``min_gap`` batches after the last
    choice) when batches become ``slowdown`` times slower than when the choice was made: a browser or a
    second kernel started on the same cores. A trial that changes the count is confirmed by another one
    ``min_gap`` batches later, so that a burst of load during one trial cannot keep a slower count for
    ``recheck_every`` batches. A trial costs warmup + trial_batches batches per candidate.
    """

    def __init__(self, candidates, warmup=2, trial_batches=5, recheck_every=1000, slowdown=1.5,
                 set_threads=None, start_after=3, min_gap=200):
        self.candidates = list(candidates)
        self.warmup, self.trial_batches = warmup, trial_batches   # batches skipped, then timed, per candidate
        self.recheck_every, self.slowdown = recheck_every, slowdown
        self.min_gap = min_gap              # batches between a choice and a slowdown-triggered trial
        self.set_threads = set_threads or (lambda n: torch.set_num_threads(n))
        self.chosen = self.candidates[-1]   # until measured: the most threads the machine allows
        self.measured = {}                  # candidate -> median seconds per example in the last trial
        self.trials = 0                     # how many trials finished
        self._queue, self._times, self._recent = [], [], []
        self._since_choice = -start_after   # batches since the last choice (negative: run warm-up)
        self._baseline = None
        self._confirm = False               # the last trial changed the count: check it again soon
        self.set_threads(self.chosen)
        if start_after <= 0:
            self._start_trial()

    @property
    def tuning(self):
        """True while a trial is measuring candidates."""
        return bool(self._queue)

    def _start_trial(self):
        self._queue, self._times, self.measured = list(self.candidates), [], {}
        self.set_threads(self._queue[0])

    def record(self, seconds, examples=1):
        """Take the duration of one batch of `examples` examples; switch threads when a trial says so."""
        per_example = seconds / max(examples, 1)
        if len(self.candidates) < 2:
            return
        if not self._queue:
            self._since_choice += 1
            if self._since_choice > 0:
                self._recent = (self._recent + [per_example])[-10:]
            slow = (self._baseline is not None and len(self._recent) == 10
                    and statistics.median(self._recent) > self.slowdown * self._baseline
                    and self._since_choice >= self.min_gap)
            confirm = self._confirm and self._since_choice >= self.min_gap
            if self._since_choice == 0 or self._since_choice >= self.recheck_every or slow or confirm:
                self._start_trial()
            return
        self._times.append(per_example)
        if len(self._times) < self.warmup + self.trial_batches:
            return
        self.measured[self._queue.pop(0)] = statistics.median(self._times[self.warmup:])
        self._times = []
        if self._queue:
            self.set_threads(self._queue[0])
            return
        before, self.chosen = self.chosen, min(self.measured, key=self.measured.get)
        self._confirm = self.chosen != before
        self._baseline = self.measured[self.chosen]
        self._since_choice, self._recent, self.trials = 1, [], self.trials + 1
        self.set_threads(self.chosen)
