import json

import pytest

import lenet_helpers as lh


def history(test_acc, stopped='completed'):
    n = len(test_acc)
    return lh.History(epoch=list(range(1, n + 1)), train_loss=[1.0 / (i + 1) for i in range(n)],
                      train_acc=list(test_acc), test_acc=list(test_acc), seconds=[float(i + 1) for i in range(n)],
                      stopped=stopped)


def test_runs_keep_every_run_and_rank_them():
    log = lh.RunLog()
    assert log.add('lenet', history([0.6, 0.7]), lr=0.9).name == 'lenet'
    assert log.add('lenet', history([0.8, 0.75]), lr=0.5).name == 'lenet (2)'  # nothing overwritten
    log.add('broken', lh.History(stopped='diverged'), lr=9.0)
    assert len(log) == 3
    assert log.best()['name'] == 'lenet (2)' and log.best()['best test acc'] == 0.8
    html = log.to_html(sort_by='test acc')
    assert html.index('lenet (2)') < html.index('>lenet<') < html.index('broken')
    assert log['broken'].status == 'diverged' and log[0].settings == {'lr': 0.9}
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


def test_a_run_record_round_trips_with_its_design_recipe_and_identity(tmp_path):
    log = lh.RunLog()
    run = log.add('plus', history([0.8, 0.9], 'stopped'), design=lh.models.LENET_PLUS_DESIGN, recipe=lh.PLUS_RECIPE,
                  seed=3)
    log.save(tmp_path / 'runs.json')
    data = json.loads((tmp_path / 'runs.json').read_text())
    assert data['schema'] == lh.runs.SCHEMA and data['runs'][0]['id'] == run.id
    again = lh.RunLog.load(tmp_path / 'runs.json')[0]
    assert again == run  # every field: name, history, settings, design, recipe, id, created
    assert again.design.build() is not None and again.recipe == lh.PLUS_RECIPE


def test_merging_adds_only_runs_not_already_there(tmp_path):
    log = lh.RunLog()
    log.add('a', history([0.5]))
    log.save(tmp_path / 'runs.json')
    log.merge(lh.RunLog.load(tmp_path / 'runs.json'))
    log.merge(lh.RunLog.load(tmp_path / 'runs.json'))
    assert len(log) == 1
    other = lh.RunLog()
    other.add('b', history([0.6]))
    assert other.save(tmp_path / 'runs.json', merge=True) == 2  # the run saved before is kept
    assert [r.name for r in lh.RunLog.load(tmp_path / 'runs.json')] == ['a', 'b']


def test_version_1_files_still_load_and_merge_by_content(tmp_path):
    v1 = [{'name': 'old', 'settings': {'design': 'conv 6-16'}, 'history': history([0.7]).to_dict()}]
    (tmp_path / 'v1.json').write_text(json.dumps(v1))
    a, b = lh.RunLog.load(tmp_path / 'v1.json'), lh.RunLog.load(tmp_path / 'v1.json')
    assert a[0].name == 'old' and a[0].history.test_acc == [0.7] and a[0].id == b[0].id
    assert a.merge(b) == 0


@pytest.mark.parametrize('content, words', [
    ('{"not": "a run log"}', 'not a run log written by RunLog.save'),
    ('[{"name": "x", "history": {"epoch": [1], "train_loss": [1.0], "train_acc": [0.5], "test_acc": [0.5], '
     '"seconds": [1.0]}}, ', 'not complete JSON'),
    ('', 'not complete JSON'),
    ('{"schema": "lenet-runs/99", "runs": []}', 'another version of lenet_helpers'),
    ('[{"name": 3, "history": {}}]', '"name" is missing or not a text'),
    ('[{"name": "x", "history": {"epoch": [1, 2], "test_acc": [0.5]}}]', 'equally long lists'),
    ('[{"name": "x", "history": {"epoch": ["one"], "train_loss": [1], "train_acc": [1], "test_acc": [1], '
     '"seconds": [1]}}]', 'not numbers'),
    ('[{"name": "x", "history": {}, "design": {"wings": 2}}]', 'unknown settings'),
])
def test_damaged_or_foreign_files_give_one_clear_message(tmp_path, content, words):
    path = tmp_path / 'bad.json'
    path.write_text(content)
    with pytest.raises(lh.RunFileError, match=words) as e:
        lh.RunLog.load(path)
    assert str(path) in str(e.value)


def test_binary_missing_and_folder_paths_give_messages(tmp_path):
    (tmp_path / 'bin.json').write_bytes(bytes(range(256)))
    for path, words in ((tmp_path / 'bin.json', 'binary file'), (tmp_path / 'nope.json', 'no such file'),
                        (tmp_path, 'is a folder')):
        with pytest.raises(lh.RunFileError, match=words):
            lh.RunLog.load(path)


def test_saving_checks_the_destination_first_and_keeps_the_old_file(tmp_path):
    log = lh.RunLog()
    log.add('a', history([0.5]), lr=0.9)
    log.save(tmp_path / 'runs.json')
    before = (tmp_path / 'runs.json').read_text()
    log.add('b', history([0.6]), weird=object())  # JSON cannot hold it
    with pytest.raises(TypeError):
        log.save(tmp_path / 'runs.json')
    assert (tmp_path / 'runs.json').read_text() == before
    with pytest.raises(ValueError, match='folder'):
        log.save(tmp_path)
