"""Class 11: the CLI speaks in its own words and checks ranges before loading data; each model brings its recipe."""
import pytest
import torch

import lenet_helpers as lh
from lenet_helpers import cli, data, recipes, training
from test_builder import tiny_data

PYTHON_WORDS = ('num_epochs', 'try_gpu', 'device=', 'batch_size', 'root=', 'load_data_', 'lr=')


@pytest.mark.parametrize('option, value, fragment', [
    ('--epochs', '0', 'expected a whole number of at least 1, got 0'),
    ('--epochs', '-3', 'expected a whole number of at least 1, got -3'),
    ('--epochs', 'ten', "expected a whole number of at least 1, got 'ten'"),
    ('--batch-size', '0', 'expected a whole number of at least 1, got 0'),
    ('--batch-size', '12.5', "expected a whole number of at least 1, got '12.5'"),
    ('--lr', '0', 'expected a finite number above 0 such as 0.9, got 0'),
    ('--lr', '-0.1', 'expected a finite number above 0 such as 0.9, got -0.1'),
    ('--lr', 'nan', 'expected a finite number above 0'),
    ('--lr', 'inf', 'expected a finite number above 0'),
    ('--lr', 'fast', "expected a number above 0 such as 0.9, got 'fast'"),
])
def test_ranges_are_checked_before_any_data_is_loaded(monkeypatch, capsys, option, value, fragment):
    monkeypatch.setattr(data, 'load_data_fashion_mnist', lambda *a, **k: pytest.fail('data loaded'))
    with pytest.raises(SystemExit) as exit_:
        cli.main(['train', option, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f'argument {option}: {fragment}' in err
    assert not any(word in err for word in PYTHON_WORDS)


@pytest.mark.parametrize('device', ['cuda:9', 'tpu', 'gpu', 'mps:7'])
def test_an_unusable_device_is_named_with_the_cli_fix(tmp_path, monkeypatch, capsys, device):
    if device == 'cuda:9' and torch.cuda.device_count() > 9:
        pytest.fail('this test needs a machine with fewer than 10 GPUs')
    monkeypatch.setattr(data, 'load_data_fashion_mnist', lambda *a, **k: pytest.fail('data loaded'))
    assert cli.main(['train', '--device', device, '--out', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f'--device {device} cannot be used' in err and '--device cpu' in err
    assert not any(word in err for word in PYTHON_WORDS)


def test_missing_data_is_explained_with_cli_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, 'PROJECT_DATA_DIR', tmp_path / 'none')
    monkeypatch.setattr(data, 'SYSTEM_DIRS', {})
    monkeypatch.setattr(data, '_download', lambda name, root: (_ for _ in ()).throw(
        data.DataNotFoundError(f'{name} was not found and the download failed (simulated).', name)))
    assert cli.main(['train', '--out', str(tmp_path / 'run')]) == 2
    err = capsys.readouterr().err
    assert 'download failed' in err and 'python -m lenet_helpers data' in err and '--data-dir DIR' in err
    assert not any(word in err for word in PYTHON_WORDS)


@pytest.fixture
def captured(monkeypatch):
    """Run the CLI on tiny data and record what it asked the loader and train_ch6 for."""
    calls = {}
    train, test = tiny_data()
    train.source = 'memory'

    def loader(batch_size, **kwargs):
        calls['batch_size'] = batch_size
        return train, test
    monkeypatch.setattr(data, 'load_data_fashion_mnist', loader)

    def fake_train(net, train_iter, test_iter, num_epochs, lr, device=None, **kwargs):
        calls.update(epochs=num_epochs, lr=lr, optimizer=kwargs['optimizer'], init=kwargs['init'], net=net)
        return lh.History(epoch=[1], train_loss=[0.5], train_acc=[0.8], test_acc=[0.8], seconds=[1.0],
                          device='cpu', stopped='completed')
    monkeypatch.setattr(training, 'train_ch6', fake_train)
    return calls


def test_lenet_plus_trains_with_its_own_recipe_by_default(tmp_path, captured, capsys):
    assert cli.main(['train', '--model', 'lenet_plus', '--out', str(tmp_path)]) == 0
    r = recipes.PLUS_RECIPE
    assert f'recipe: {r.summary()}, xavier init' in capsys.readouterr().out
    assert (captured['epochs'], captured['lr'], captured['batch_size']) == (r.epochs, r.lr, r.batch_size)
    opt = captured['optimizer']
    assert r.optimizer == 'momentum' and type(opt) is torch.optim.SGD and opt.defaults['nesterov']
    assert opt.defaults['weight_decay'] == r.weight_decay > 0
    assert hasattr(opt, 'schedule')  # one-cycle
    assert captured['init'] is False  # the recipe's own initialisation was applied instead


def test_lenet_trains_with_the_chapters_recipe_by_default(tmp_path, captured):
    assert cli.main(['train', '--out', str(tmp_path)]) == 0
    r = recipes.CHAPTER_RECIPE
    assert (captured['epochs'], captured['lr'], captured['batch_size']) == (10, 0.9, 128) == (r.epochs, r.lr,
                                                                                               r.batch_size)
    opt = captured['optimizer']
    assert type(opt) is torch.optim.SGD and opt.defaults['lr'] == 0.9 and not hasattr(opt, 'schedule')
    # Xavier init, as the chapter's train_ch6 does: uniform within sqrt(6 / (fan_in + fan_out))
    conv1 = captured['net'][1]
    bound = (6 / (1 * 25 + 6 * 25)) ** 0.5
    largest = float(conv1.weight.detach().abs().max())
    assert 0.8 * bound < largest <= bound


def test_options_override_one_part_of_the_recipe(tmp_path, captured):
    assert cli.main(['train', '--model', 'lenet_plus', '--lr', '0.01', '--epochs', '2', '--batch-size', '32',
                     '--out', str(tmp_path)]) == 0
    assert (captured['epochs'], captured['lr'], captured['batch_size']) == (2, 0.01, 32)
    assert type(captured['optimizer']) is torch.optim.SGD  # the recipe's momentum SGD, at the new lr
    assert cli.main(['train', '--model', 'lenet_plus', '--optimizer', 'adam', '--out', str(tmp_path)]) == 0
    opt = captured['optimizer']
    assert isinstance(opt, torch.optim.AdamW) and captured['lr'] == recipes.PLUS_RECIPE.lr
    assert opt.defaults['weight_decay'] == recipes.PLUS_RECIPE.weight_decay


def test_every_model_has_a_recipe():
    for name in lh.MODELS:
        assert isinstance(lh.models.model_recipe(name), recipes.Recipe)
    with pytest.raises(ValueError, match="Unknown model 'alexnet'"):
        lh.models.model_recipe('alexnet')


def test_the_help_states_each_models_recipe_from_the_recipe_itself(capsys):
    assert recipes.CHAPTER_RECIPE.summary() == 'SGD, lr 0.9, 10 epochs, batch 128'
    plus = recipes.PLUS_RECIPE.summary()
    assert f'one-cycle schedule peaking at lr {recipes.PLUS_RECIPE.lr:g}' in plus and 'weight decay' in plus
    with pytest.raises(SystemExit):
        cli.main(['train', '--help'])
    help_text = ' '.join(capsys.readouterr().out.split())
    assert plus in help_text and recipes.CHAPTER_RECIPE.summary() in help_text
