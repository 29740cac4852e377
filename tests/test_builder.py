"""The model builder, the comparison lab, the ablation helpers and the one-cycle optimizer (notebooks 05-06)."""
import pytest
import torch
from torch import nn

import lenet_helpers as lh
import lenet_helpers.activations as A
from lenet_helpers.controls import builder as B
from lenet_helpers import html as H
from lenet_helpers import recipes
from lenet_helpers import experiments as E
from lenet_helpers.data import ImageBatches


def tiny_data(batch_size=64, n=256, seed=0):
    """Random images with a learnable label (the brightness of the top rows) so a few batches can learn."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)
    labels = (images[:, :4].float().mean(dim=(1, 2)) > 127.5).long()
    train = ImageBatches(images, labels, batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    test = ImageBatches(images[:128], labels[:128], batch_size)
    return train, test


QUIET = dict(progress=False, animate=False)


def test_lenet_plus_is_registered_small_and_pools_with_max():
    net = lh.get_model('lenet_plus')
    assert 'lenet_plus' in lh.MODELS
    assert lh.count_params(net) < 200_000
    assert any(isinstance(m, nn.MaxPool2d) for m in net) and any(isinstance(m, nn.BatchNorm2d) for m in net)
    net.eval()
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_cli_trains_lenet_plus_with_adam(tmp_path, monkeypatch):
    train, test = tiny_data()
    monkeypatch.setattr(lh.data, 'load_data_fashion_mnist', lambda *a, **k: (train, test))
    train.source = test.source = 'memory'
    from lenet_helpers import cli
    rc = cli.main(['train', '--model', 'lenet_plus', '--optimizer', 'adam', '--lr', '0.003', '--epochs', '1',
                   '--out', str(tmp_path), '--no-progress'])
    assert rc == 0
    assert lh.History.load(tmp_path / 'history.json').stopped == 'completed'


def test_one_cycle_schedule_warms_up_then_anneals():
    net = nn.Linear(2, 2)
    opt = recipes.make_optimizer(net, 'adam', 0.01, num_epochs=2, steps_per_epoch=10)
    lrs = []
    for _ in range(20):
        net(torch.ones(1, 2)).sum().backward()
        opt.step()
        lrs.append(opt.param_groups[0]['lr'])
    peak = lrs.index(max(lrs))
    assert 0 < peak < 19 and max(lrs) == pytest.approx(0.01, rel=0.05)
    assert lrs[-1] < 0.001
    opt.step()  # one step too many must not raise


def test_make_optimizer_rejects_unknown_names():
    with pytest.raises(ValueError, match='sgd, momentum, adam'):
        recipes.make_optimizer(nn.Linear(2, 2), 'rmsprop', 0.1)


def test_controlled_runs_repeat_exactly():
    train, test = tiny_data()
    _, h1 = E.controlled_run(lambda: lh.build_lenet(activation='relu', pool='max'), train, test, 1, 0.05, **QUIET)
    _, h2 = E.controlled_run(lambda: lh.build_lenet(activation='relu', pool='max'), train, test, 1, 0.05, **QUIET)
    assert h1.train_loss == h2.train_loss and h1.test_acc == h2.test_acc


def test_controlled_run_reuses_only_a_completed_run_with_the_same_settings(tmp_path, capsys):
    train, test = tiny_data()
    path = tmp_path / 'run.pt'
    make = lambda: lh.build_lenet(activation='relu', pool='max')
    net1, h1 = E.controlled_run(make, train, test, 1, 0.05, checkpoint=path, **QUIET)
    assert path.exists() and 'No saved run' in capsys.readouterr().out
    net2, h2 = E.controlled_run(make, train, test, 1, 0.05, checkpoint=path, **QUIET)
    assert 'Loaded the trained net' in capsys.readouterr().out
    assert len(A.read_checkpoint(path).states) == 2  # epoch 0 and epoch 1, for 08's explorer
    assert h2.test_acc == h1.test_acc and all(torch.equal(a, b) for a, b in zip(net1.state_dict().values(),
                                                                              net2.state_dict().values()))
    _, h3 = E.controlled_run(make, train, test, 1, 0.01, checkpoint=path, **QUIET)  # another lr: trained again
    assert 'lr 0.05 instead of 0.01' in capsys.readouterr().out and h3.settings['lr'] == 0.01
    _, h4 = E.controlled_run(make, train, test, 1, 0.01, **QUIET)
    assert h4.train_loss == h3.train_loss  # with or without a checkpoint, the same run


def test_controlled_run_reuses_a_run_only_with_the_same_recipe(tmp_path, capsys):
    train, test = tiny_data()
    path = tmp_path / 'run.pt'
    make = lambda: lh.build_lenet(activation='relu', pool='max')
    momentum = lh.Recipe(optimizer='momentum', lr=0.05, epochs=1)
    _, h1 = E.controlled_run(make, train, test, recipe=momentum, checkpoint=path, **QUIET)
    assert h1.settings['recipe'] == momentum.summary()
    capsys.readouterr()
    _, h2 = E.controlled_run(make, train, test, recipe=momentum.replace(optimizer='sgd'), checkpoint=path, **QUIET)
    out = capsys.readouterr().out
    assert 'not reused' in out and "recipe 'SGD with Nesterov momentum, lr 0.05" in out
    assert h2.settings['recipe'].startswith('SGD, lr 0.05')


def test_controlled_run_reuses_a_run_saved_without_a_recipe(tmp_path, capsys):
    """Notebook 04 calls train_ch6 itself: its saved run records no recipe and is still reused by 07."""
    train, test = tiny_data()
    path = tmp_path / 'run.pt'
    net = lh.build_lenet(activation='relu', pool='max')
    history = lh.train_ch6(net, train, test, 1, 0.05, **QUIET)
    A.save_checkpoint(net, path, history)
    assert 'recipe' not in history.settings
    _, h = E.controlled_run(lambda: lh.build_lenet(activation='relu', pool='max'), train, test, 1, 0.05,
                            checkpoint=path, **QUIET)
    assert 'Loaded the trained net' in capsys.readouterr().out and h.test_acc == history.test_acc


def test_controlled_run_with_reuse_off_trains_and_saves_again(tmp_path, capsys):
    train, test = tiny_data()
    path = tmp_path / 'run.pt'
    make = lambda: lh.build_lenet(activation='relu', pool='max')
    E.controlled_run(make, train, test, 1, 0.05, checkpoint=path, **QUIET)
    first = path.stat().st_mtime_ns
    capsys.readouterr()
    _, h = E.controlled_run(make, train, test, 1, 0.05, checkpoint=path, reuse=False, **QUIET)
    assert 'Loaded' not in capsys.readouterr().out and h.stopped == 'completed'
    assert path.stat().st_mtime_ns > first and A.read_checkpoint(path).history.test_acc == h.test_acc


def test_initialise_choices_change_the_weights():
    torch.manual_seed(0)
    net = lh.lenet()
    before = net[1].weight.clone()
    recipes.initialise(net, 'kaiming')
    assert not torch.equal(before, net[1].weight)
    with pytest.raises(ValueError, match='xavier'):
        recipes.initialise(net, 'zeros')


def test_epochs_to_reach_and_results_table():
    h = lh.History(epoch=[1, 2, 3], train_loss=[1, .5, .4], train_acc=[.5, .8, .9], test_acc=[.6, .81, .85],
                   seconds=[1, 2, 3], stopped='completed')
    assert E.epochs_to_reach(h, 0.80) == 2 and E.epochs_to_reach(h, 0.9) is None
    log = lh.RunLog()
    log.add('a', h)
    log.add('b', lh.History(stopped='interrupted'))
    table = H.results_table(log)
    assert '>2</td>' in table and 'not within 0' in table and 'interrupted' in table


@pytest.mark.parametrize('kwargs, words', [
    (dict(conv_layers=3, channels='6, 16'), '3 conv layers need 3 channel counts'),
    (dict(channels='6, x'), 'whole numbers'),
    (dict(conv_layers=3, channels='6,16,32', kernel_size=9, padding='none'), 'nothing is left'),
    (dict(conv_layers=3, channels='6,16,32', kernel_size=5), 'smaller than the'),
])
def test_impossible_designs_are_explained(kwargs, words):
    with pytest.raises(lh.DesignError, match=words):
        B.design_from_controls(**kwargs).build()


def test_check_net_names_the_mismatched_linear_layer():
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 10))
    with pytest.raises(lh.DesignError, match=r'layer 3 \(Linear\) expects 400 inputs.*1176'):
        B.check_net(net)
    assert len(B.check_net(lh.lenet())) == len(lh.lenet())


def test_builder_design_panel_follows_the_controls():
    mb = B.ModelBuilder(lambda bs: tiny_data(bs))
    assert '61,706 parameters' in mb.design.value  # the chapter's LeNet by default
    mb.activation.value = 'relu'
    mb.pool.value = 'max'
    assert 'relu max' in mb.design.value
    mb.conv_layers.value = 3  # only two channel counts given
    assert 'cannot work' in mb.design.value and 'channel counts' in mb.design.value
    assert mb.train_button.disabled
    mb.channels.value = '6, 16, 32'
    mb.padding.value = 'every layer'
    assert 'cannot work' not in mb.design.value and not mb.train_button.disabled


def test_builder_train_button_fills_the_leaderboard_and_plot():
    mb = B.ModelBuilder(lambda bs: tiny_data(bs), epochs=1)
    mb.activation.value, mb.pool.value, mb.lr.value = 'relu', 'max', 0.03
    assert 'No runs yet' in mb.table.value
    mb.train_button.click()
    mb.wait()
    assert len(mb.log) == 1 and mb.log[0].history.stopped == 'completed'
    assert 'relu max' in mb.table.value and 'completed' in mb.table.value
    first_plot = mb.plot.value
    assert first_plot[:4] == b'\x89PNG'
    mb.batch_size.value = 32
    mb.train_button.click()
    mb.wait()
    assert len(mb.log) == 2 and '32' in mb.table.value and mb.plot.value != first_plot


def test_builder_records_an_interrupted_run_and_shows_failures(monkeypatch):
    def interrupted(*args, **kwargs):
        h = lh.History(epoch=[1], train_loss=[1.0], train_acc=[0.5], test_acc=[0.6], seconds=[2.0],
                       stopped='interrupted', message='Training interrupted in epoch 2.')
        return None, h
    monkeypatch.setattr(B, 'controlled_run', interrupted)
    mb = B.ModelBuilder(lambda bs: tiny_data(bs), epochs=3)
    mb.train_button.click()
    mb.wait()
    assert len(mb.log) == 1 and 'interrupted' in mb.table.value and 'interrupted in epoch 2' in mb.runner.status.value

    def broken(bs):
        raise RuntimeError('disk on fire')
    mb2 = B.ModelBuilder(broken, epochs=1)
    mb2.train_button.click()
    mb2.wait()
    assert 'disk on fire' in mb2.runner.status.value and 'failed' in mb2.table.value
    assert not mb2.train_button.disabled


def test_diverging_run_lands_in_the_leaderboard(monkeypatch):
    mb = B.ModelBuilder(lambda bs: tiny_data(bs), epochs=1)
    mb.activation.value, mb.init.value = 'relu', 'kaiming'
    mb.hidden.value = '256, 256, 256'
    original = recipes.make_optimizer

    def huge(net, name, lr, *a, **k):  # lr 1e6: far beyond what any net survives
        return original(net, name, 1e6, *a, **k)
    monkeypatch.setattr(recipes, 'make_optimizer', huge)
    mb.train_button.click()
    mb.wait()
    assert mb.log[0].history.stopped == 'diverged' and 'diverged' in mb.table.value


def test_builder_saves_and_reloads_the_leaderboard(tmp_path):
    path = tmp_path / 'new' / 'board.json'
    mb = B.ModelBuilder(lambda bs: tiny_data(bs), epochs=1, path=str(path))
    mb.lr.value = 0.5
    mb.train_button.click()
    mb.wait()
    assert lh.RunLog.load(path)[0].id == mb.log[0].id  # every finished run is added to the file
    mb.save_button.click()
    assert 'now holds 1 run' in mb.message.value
    other = B.ModelBuilder(lambda bs: tiny_data(bs), path=str(path))  # a rerun of the notebook: loads on start
    assert len(other.log) == 1 and 'loaded' in other.message.value
    assert other.log[0].history.test_acc == mb.log[0].history.test_acc and other.log[0].design == mb.log[0].design
    other.load_button.click()
    other.load_button.click()  # loading twice merges by run identity: no "(2)" copies
    assert len(other.log) == 1 and '(2)' not in other.table.value and '0 new run(s)' in other.message.value
    assert 'sigmoid avg' in other.table.value
    other.path.value = str(tmp_path / 'missing.json')
    other.load_button.click()
    assert 'no such file' in other.message.value and len(other.log) == 1


def test_a_new_empty_builder_never_overwrites_a_saved_leaderboard(tmp_path):
    path = tmp_path / 'board.json'
    log = lh.RunLog()
    for name in ('a', 'b'):
        log.add(name, lh.History(epoch=[1], train_loss=[1.0], train_acc=[0.5], test_acc=[0.6], seconds=[1.0],
                                 stopped='completed'))
    log.save(path)
    fresh = lh.RunLog()  # Restart & Run All: the notebook starts with an empty log
    fresh.add('c', lh.History(stopped='stopped'))
    fresh.save(path, merge=True)
    assert [r.name for r in lh.RunLog.load(path)] == ['a', 'b', 'c']
    mb = B.ModelBuilder(lambda bs: tiny_data(bs), path=str(path))
    mb.save_button.click()
    assert len(lh.RunLog.load(path)) == 3 and len(mb.log) == 3


def test_bad_leaderboard_entries_are_refused_and_the_builder_stays_usable(tmp_path):
    import json
    path = tmp_path / 'board.json'
    good = lh.RunLog()
    good.add('fine', lh.History(epoch=[1], train_loss=[1.0], train_acc=[0.5], test_acc=[0.6], seconds=[1.0],
                                stopped='completed'))
    data = good.to_dict()
    data['runs'] += [{'name': 'no history'}, {'name': 'short', 'history': {'epoch': [1, 2], 'test_acc': [0.5]}},
                     'just text']
    path.write_text(json.dumps(data))
    mb = B.ModelBuilder(lambda bs: tiny_data(bs), epochs=1, path=str(path))
    assert len(mb.log) == 1 and '3 entries were refused' in mb.message.value
    assert 'no history' in mb.message.value and 'entry 4' in mb.message.value
    mb.path.value = str(tmp_path / 'other.json')
    mb.train_button.click()
    mb.wait()
    assert len(mb.log) == 2 and 'fine' in mb.table.value  # refresh and Train still work


def test_builder_refuses_to_train_when_its_leaderboard_cannot_be_written(tmp_path):
    mb = B.ModelBuilder(lambda bs: tiny_data(bs), epochs=1, path=str(tmp_path))  # a folder
    assert mb.train() is None and 'folder' in mb.message.value and len(mb.log) == 0


def test_comparison_lab_run_and_clear():
    train, test = tiny_data()

    def net_fn(pool, act):
        return nn.Sequential(nn.Conv2d(1, 4, 5, padding=2), act(), pool(2), nn.Flatten(), nn.Linear(4 * 14 * 14, 10))
    lab = lh.ComparisonLab(net_fn, lambda bs: (train, test), epochs=1, lr=0.03)
    lab.pool.value, lab.activation.value = 'avg', 'relu'
    lab.train_button.click()
    lab.wait()
    lab.pool.value = 'max'
    lab.train_button.click()
    lab.wait()
    assert lab.table.value.count('<tr') == 3  # header and two runs
    assert 'relu + max pool' in lab.table.value and lab.plot.value[:4] == b'\x89PNG'
    lab.clear_button.click()
    assert len(lab.log) == 0 and lab.table.value.count('<tr') == 1 and lab.plot.value == b''


def test_comparison_lab_shows_an_unwritten_exercise():
    train, test = tiny_data()

    def not_written(pool, act):
        raise NotImplementedError()
    lab = lh.ComparisonLab(not_written, lambda bs: (train, test), epochs=1)
    lab.train_button.click()
    lab.wait()
    assert 'NotImplementedError' in lab.runner.status.value and 'failed' in lab.table.value


def test_ablation_runs_every_variant_and_ranks_them(tmp_path):
    train, test = tiny_data(n=128)
    variants = {k: E.ABLATIONS[k] for k in list(E.ABLATIONS)[:2]}
    log = E.run_ablation(train, test, 1, variants=variants, progress=False)
    assert [r.name for r in log] == list(variants)
    table = H.ablation_table(log)
    assert 'undo ReLU' in table and '+0.000' in table  # the reference row compared with itself
    log.save(tmp_path / 'a.json')
    assert H.ablation_table(lh.RunLog.load(tmp_path / 'a.json')) == table


def test_ablation_is_a_cli_subcommand_that_checks_its_destination_first(tmp_path, monkeypatch, capsys):
    from lenet_helpers import cli
    train, test = tiny_data(n=128)
    loads = []

    def load(*args, **kwargs):
        loads.append(kwargs)
        return train, test
    monkeypatch.setattr(lh.data, 'load_data_fashion_mnist', load)
    monkeypatch.setattr(E, 'ABLATIONS', {k: E.ABLATIONS[k] for k in list(E.ABLATIONS)[:2]})
    monkeypatch.setattr(E.run_ablation, '__defaults__', (E.ABLATIONS, 0, None))
    assert cli.main(['ablation', '--epochs', '1', '--out', str(tmp_path)]) == 2  # a folder: refused at once
    assert 'folder' in capsys.readouterr().err and not loads
    out = tmp_path / 'ablation.json'
    assert cli.main(['ablation', '--epochs', '1', '--threads', '0', '--out', str(out)]) == 2
    assert '--threads must be at least 1' in capsys.readouterr().err and not loads
    assert cli.main(['ablation', '--epochs', '1', '--n-train', '128', '--threads', '1', '--out', str(out)]) == 0
    log = lh.RunLog.load(out)
    assert [r.name for r in log] == list(E.ABLATIONS) and loads == [{'seed': 0, 'n_train': 128}]
    assert [r.history.threads for r in log] == [1, 1]  # fixed for every variant, so their seconds compare
    assert log[1].design.activation == 'sigmoid' and log[0].recipe == lh.PLUS_RECIPE.replace(epochs=1)


def test_controlled_run_with_reuse_off_refuses_an_unwritable_checkpoint_before_training(tmp_path):
    train, test = tiny_data()
    with pytest.raises(ValueError, match='it is a folder'):
        E.controlled_run(lh.lenet, train, test, 1, 0.05, checkpoint=tmp_path, reuse=False, **QUIET)


def test_controlled_run_keeps_the_run_when_saving_fails(tmp_path, monkeypatch, capsys):
    train, test = tiny_data()

    def full_disk(*args, **kwargs):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(A, 'save_checkpoint', full_disk)
    net, h = E.controlled_run(lh.lenet, train, test, 1, 0.05, checkpoint=tmp_path / 'run.pt', reuse=False, **QUIET)
    assert h.stopped == 'completed' and len(h.epoch) == 1
    assert 'was not saved' in capsys.readouterr().out and not (tmp_path / 'run.pt').exists()
