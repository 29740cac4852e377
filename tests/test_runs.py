import pytest

import lenet_helpers as lh


def history(test_acc, stopped='completed'):
    n = len(test_acc)
    return lh.History(epoch=list(range(1, n + 1)), train_loss=[1.0 / (i + 1) for i in range(n)],
                      train_acc=list(test_acc), test_acc=list(test_acc), seconds=[float(i + 1) for i in range(n)],
                      stopped=stopped)


def test_runs_keep_every_run_and_rank_them():
    log = lh.RunLog()
    assert log.add('lenet', history([0.6, 0.7]), lr=0.9) == 'lenet'
    assert log.add('lenet', history([0.8, 0.75]), lr=0.5) == 'lenet (2)'  # nothing overwritten
    log.add('broken', lh.History(stopped='diverged'), lr=9.0)
    assert len(log) == 3
    assert log.best()['name'] == 'lenet (2)' and log.best()['best test acc'] == 0.8
    html = log.to_html(sort_by='test acc')
    assert html.index('lenet (2)') < html.index('>lenet<') < html.index('broken')
    assert 'diverged' in html


def test_runs_plot_overlays_one_line_per_run():
    log = lh.RunLog()
    log.add('a', history([0.5, 0.6]))
    log.add('b', history([0.4, 0.7, 0.8]))
    fig = log.plot('test_acc')
    assert [len(line.get_xdata()) for line in fig.axes[0].lines] == [2, 3]
    with pytest.raises(ValueError, match='metric must be one of'):
        log.plot('speed')


def test_runs_save_and_load_round_trip(tmp_path):
    log = lh.RunLog()
    log.add('a', history([0.5, 0.6]), lr=0.9, batch_size=128)
    log.save(tmp_path / 'runs.json')
    again = lh.RunLog.load(tmp_path / 'runs.json')
    assert again.rows() == log.rows()
    (tmp_path / 'bad.json').write_text('{"not": "a run log"}')
    with pytest.raises(ValueError, match='not a run log'):
        lh.RunLog.load(tmp_path / 'bad.json')
