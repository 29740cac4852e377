"""benchmarks/train_speed.py's rounds: the order alternates and the ratios come from the total seconds."""
import pytest

from conftest import load_script


@pytest.fixture(scope='module')
def ts():
    return load_script('benchmarks/train_speed.py')


def test_rounds_alternate_the_order(ts):
    names = ['ours', 'competent', 'chapter']
    assert ts.round_order(names, 0) == names
    assert ts.round_order(names, 1) == ['chapter', 'competent', 'ours']
    assert ts.round_order(names, 2) == names


def test_one_round_gives_the_plain_ratios(ts):
    rounds = [{'ours': {'seconds': 50.0}, 'competent': {'seconds': 65.0}, 'chapter': {'seconds': 200.0}}]
    assert ts.ratio_lines(rounds) == ['ours/chapter: 4.00x faster (chapter 200.0 s / ours 50.0 s)',
                                      'ours/competent: 1.30x faster (competent 65.0 s / ours 50.0 s)']


def test_ratios_over_rounds_come_from_the_totals_so_a_steady_drift_cancels(ts):
    # Without drift: ours 60 s, competent 75 s, chapter 240 s (4.00x, 1.25x). The machine gets 10 % slower with
    # every run: round 1 runs ours, competent, chapter (x1.0, x1.1, x1.2), round 2 the reverse (x1.3, x1.4, x1.5).
    rounds = [{'ours': {'seconds': 60.0}, 'competent': {'seconds': 82.5}, 'chapter': {'seconds': 288.0}},
              {'ours': {'seconds': 90.0}, 'competent': {'seconds': 105.0}, 'chapter': {'seconds': 312.0}}]
    chapter, competent = ts.ratio_lines(rounds)
    assert chapter == ('ours/chapter: 4.00x faster (chapter 300.0 s / ours 75.0 s, mean of 2 rounds; '
                       'each round: 4.80x, 3.47x)')
    assert competent.startswith('ours/competent: 1.25x faster (competent 93.8 s / ours 75.0 s')
    assert ts.ratio_lines([{'ours': {'seconds': 50.0}, 'competent': {'seconds': 60.0}}]) == [
        'ours/competent: 1.20x faster (competent 60.0 s / ours 50.0 s)']  # --skip-reference: no chapter line
