"""Thread choice: the CPU quota read from cgroup files, and the tuner's pick from (fake) batch timings."""
import os

import pytest

from lenet_helpers import threads
from lenet_helpers.threads import ThreadTuner, available_cpus, candidate_threads, cgroup_quota


def write(root, name, text):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize('files, quota', [
    ({'cpu.max': 'max 100000\n'}, None),                      # v2, no limit
    ({'cpu.max': '150000 100000\n'}, 1.5),                    # v2, one and a half CPUs
    ({'cpu.max': '50000 100000\n'}, 0.5),
    ({'cpu.max': '400000 100000\n'}, 4.0),
    ({'cpu.max': 'garbage\n'}, None),
    ({'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n'}, None),   # v1, no limit
    ({'cpu/cpu.cfs_quota_us': '200000\n', 'cpu/cpu.cfs_period_us': '100000\n'}, 2.0),
    ({'cpu,cpuacct/cpu.cfs_quota_us': '100000\n', 'cpu,cpuacct/cpu.cfs_period_us': '100000\n'}, 1.0),
    ({'cpu/cpu.cfs_quota_us': 'x\n', 'cpu/cpu.cfs_period_us': '100000\n'}, None),
    ({}, None),                                               # no cgroup files at all
])
def test_cgroup_quota_is_read_from_v2_or_v1_files(tmp_path, files, quota):
    for name, text in files.items():
        write(tmp_path, name, text)
    assert cgroup_quota(tmp_path) == quota


@pytest.mark.parametrize('quota_file, affinity, cores, expected', [
    ('150000 100000', 8, 64, 2),    # a quota of 1.5 CPUs: 2 threads, not 64
    ('50000 100000', 8, 64, 1),
    ('max 100000', 3, 64, 3),       # no quota, affinity of 3 cores
    ('max 100000', 16, 4, 4),
    ('800000 100000', 16, 4, 4),    # a quota above the cores the machine has
])
def test_available_cpus_is_the_smallest_limit(tmp_path, monkeypatch, quota_file, affinity, cores, expected):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    write(tmp_path, 'cpu.max', quota_file)
    monkeypatch.setattr(os, 'cpu_count', lambda: cores)
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: set(range(affinity)), raising=False)
    assert available_cpus(tmp_path) == expected


@pytest.mark.parametrize('omp, expected', [('1', 1), ('3', 3), ('16', 8), ('', 8), ('zero', 8), ('0', 8)])
def test_omp_num_threads_set_by_the_user_caps_the_count(tmp_path, monkeypatch, omp, expected):
    write(tmp_path, 'cpu.max', 'max 100000')
    monkeypatch.setattr(os, 'cpu_count', lambda: 8)
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: set(range(8)), raising=False)
    monkeypatch.setenv('OMP_NUM_THREADS', omp)
    assert available_cpus(tmp_path) == expected


def test_available_cpus_on_this_machine_is_within_its_core_count(monkeypatch):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    n = available_cpus()
    assert isinstance(n, int) and n <= (os.cpu_count() or 1)
    assert n == min([os.cpu_count() or 1, len(os.sched_getaffinity(0))]
                    + ([-(-threads.cgroup_quota() // 1)] if threads.cgroup_quota() else []))


@pytest.mark.parametrize('n, expected', [(1, [1]), (2, [1, 2]), (4, [1, 2, 3, 4]), (12, [1, 2, 4, 8, 12]),
                                         (64, [1, 2, 4, 8, 16, 32, 64])])
def test_candidate_threads(n, expected):
    assert candidate_threads(n) == expected


def run_tuner(tuner, cost, batches, current, examples=128):
    """Feed the tuner `batches` batch durations from cost[threads], as if the clock measured them."""
    for b in range(batches):
        tuner.record(cost(current[0], b) * examples, examples)


def make_tuner(candidates, **kw):
    current = [None]

    def set_threads(n):
        current[0] = n
        calls.append(n)
    calls = []
    tuner = ThreadTuner(candidates, set_threads=set_threads, **kw)
    return tuner, current, calls


@pytest.mark.parametrize('costs, best', [({1: 1.0, 2: 0.6}, 2), ({1: 1.0, 2: 3.0}, 1),
                                         ({1: 2.0, 2: 1.5, 3: 1.0, 4: 1.2}, 3)])
def test_tuner_keeps_the_fastest_candidate(costs, best):
    tuner, current, calls = make_tuner(list(costs))
    run_tuner(tuner, lambda t, b: costs[t], 100, current)
    assert tuner.chosen == best and current[0] == best and tuner.trials == 1
    assert set(calls) == set(costs) and calls[-1] == best
    assert tuner.measured == pytest.approx(costs)


def test_tuner_ignores_warm_up_batches_of_each_candidate():
    tuner, current, _ = make_tuner([1, 2], warmup=2, trial_batches=5, start_after=0)
    seen = {1: 0, 2: 0}

    def cost(t, b):
        seen[t] += 1
        return 50.0 if seen[t] <= 2 else {1: 1.0, 2: 2.0}[t]  # the first two batches at each count are slow
    run_tuner(tuner, cost, 14, current)
    assert tuner.chosen == 1 and tuner.measured == {1: 1.0, 2: 2.0}


def test_tuner_rechecks_periodically_and_follows_a_busy_machine():
    tuner, current, _ = make_tuner([1, 2], recheck_every=200, slowdown=100)  # only the periodic re-check
    busy_from = 150

    def cost(t, b):
        if b < busy_from:
            return {1: 1.0, 2: 0.5}[t]
        return {1: 1.0, 2: 4.0}[t]  # a browser took one core: two threads now fight for it
    run_tuner(tuner, cost, 150, current)
    assert tuner.chosen == 2
    run_tuner(tuner, lambda t, b: cost(t, busy_from + b), 400, current)
    assert tuner.chosen == 1 and tuner.trials >= 2


def test_tuner_rechecks_early_when_batches_slow_down():
    tuner, current, _ = make_tuner([1, 2], recheck_every=10_000, slowdown=1.5, min_gap=100)
    run_tuner(tuner, lambda t, b: {1: 1.0, 2: 0.5}[t], 60, current)
    assert tuner.chosen == 2 and tuner.trials == 1
    run_tuner(tuner, lambda t, b: {1: 1.0, 2: 4.0}[t], 30, current)  # 8x slower than when chosen ...
    assert tuner.chosen == 2 and tuner.trials == 1                   # ... but too soon to try again
    run_tuner(tuner, lambda t, b: {1: 1.0, 2: 4.0}[t], 100, current)
    assert tuner.chosen == 1 and tuner.trials == 2


def test_a_trial_that_changes_the_count_is_confirmed_soon_after():
    tuner, current, _ = make_tuner([1, 2], recheck_every=10_000, slowdown=100, min_gap=50)
    # A burst of load during the first trial makes 2 threads look slow once ...
    run_tuner(tuner, lambda t, b: {1: 1.0, 2: 3.0}[t], 20, current)
    assert tuner.chosen == 1 and tuner.trials == 1
    # ... the burst is over: 2 threads are faster, and the confirming trial 50 batches later finds it.
    run_tuner(tuner, lambda t, b: {1: 1.0, 2: 0.6}[t], 40, current)
    assert tuner.chosen == 1 and tuner.trials == 1  # not before min_gap
    run_tuner(tuner, lambda t, b: {1: 1.0, 2: 0.6}[t], 40, current)
    assert tuner.chosen == 2 and tuner.trials == 2
    # 1 -> 2 was a change too: one more trial confirms it, then none until recheck_every.
    run_tuner(tuner, lambda t, b: {1: 1.0, 2: 0.6}[t], 2000, current)
    assert tuner.trials == 3 and tuner.chosen == 2


def test_tuner_noise_below_the_slowdown_factor_does_not_trigger_trials():
    tuner, current, _ = make_tuner([1, 2], recheck_every=10_000, slowdown=1.5, min_gap=10)
    run_tuner(tuner, lambda t, b: {1: 1.0, 2: 0.5}[t] * (1.3 if b % 3 else 0.9), 2000, current)
    assert tuner.trials == 1 and tuner.chosen == 2


def test_tuner_with_one_candidate_never_switches():
    tuner, current, calls = make_tuner([1])
    run_tuner(tuner, lambda t, b: 1.0, 50, current)
    assert tuner.chosen == 1 and calls == [1] and not tuner.tuning


def test_tuner_judges_time_per_example_so_a_short_last_batch_does_not_win():
    tuner, current, _ = make_tuner([1, 2], warmup=0, trial_batches=1, start_after=0)
    tuner.record(1.0 * 128, 128)   # 1 thread: 1 s per example
    tuner.record(0.6 * 96, 96)     # 2 threads, a short batch: 0.6 s per example
    assert tuner.chosen == 2 and tuner.measured == {1: 1.0, 2: pytest.approx(0.6)}


@pytest.mark.parametrize('bad', [0, -2, True, 2.0, '3'])
def test_check_threads_refuses_non_positive_integers(bad):
    with pytest.raises(ValueError, match='threads must be a positive integer'):
        threads.check_threads(bad)
    assert threads.check_threads(None) is None and threads.check_threads(3) == 3
