"""Class 2: a data folder the user named must hold the data or fail naming it; only the implicit search falls back."""
import pytest

import lenet_helpers as lh
from lenet_helpers import cli, data
from conftest import make_idx_dataset


@pytest.fixture(scope='module')
def project_copy(tmp_path_factory):
    project = tmp_path_factory.mktemp('project')
    make_idx_dataset(project / 'FashionMNIST' / 'raw', gz=True)
    return project


@pytest.fixture
def project_has_data(project_copy, monkeypatch):
    """A complete fake Fashion-MNIST in the project folder: the fallback an explicit folder must NOT use."""
    project = project_copy
    monkeypatch.setattr(data, 'PROJECT_DATA_DIR', project)
    monkeypatch.setattr(data, 'SYSTEM_DIRS', {})
    monkeypatch.setattr(data, '_download', lambda *a: pytest.fail('a download was tried'))
    return project


def test_root_that_does_not_exist_fails_naming_it(tmp_path, project_has_data):
    missing = tmp_path / 'typo'
    with pytest.raises(lh.DataNotFoundError) as err:
        lh.load_data_fashion_mnist(64, root=missing)
    assert 'does not exist' in str(err.value) and str(missing) in str(err.value)
    assert not missing.exists()  # nothing created in its place


def test_root_without_the_files_fails_instead_of_using_the_project_copy(tmp_path, project_has_data):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(lh.DataNotFoundError) as err:
        lh.load_data_fashion_mnist(64, root=empty, download=False)
    message = str(err.value)
    assert 'does not hold the four IDX files' in message and str(empty) in message
    assert str(project_has_data) not in message.split('Three ways')[0]  # only the named folder was searched


def test_env_variable_is_explicit_too(tmp_path, project_has_data, monkeypatch):
    monkeypatch.setenv('LENET_DATA_DIR', str(tmp_path / 'nowhere'))
    with pytest.raises(lh.DataNotFoundError, match='LENET_DATA_DIR=.*does not exist'):
        lh.load_data_fashion_mnist(64)
    assert data.locate('FashionMNIST') is None


def test_root_wins_over_the_env_variable(tmp_path, project_has_data, monkeypatch):
    make_idx_dataset(tmp_path / 'mine', n_train=60000, n_test=10000)
    monkeypatch.setenv('LENET_DATA_DIR', str(tmp_path / 'nowhere'))
    train_iter, _ = lh.load_data_fashion_mnist(64, root=tmp_path / 'mine', n_train=100)
    assert train_iter.source == tmp_path / 'mine'


def test_implicit_search_falls_back_to_the_project_folder(project_has_data):
    train_iter, _ = lh.load_data_fashion_mnist(64, n_train=100)
    assert train_iter.source == project_has_data / 'FashionMNIST'


def test_failed_download_into_a_named_folder_names_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, 'PROJECT_DATA_DIR', tmp_path / 'project')
    monkeypatch.setattr(data, 'SYSTEM_DIRS', {})

    class Offline:
        def __init__(self, *a, **k):
            raise OSError('network is unreachable (simulated)')
    import torchvision
    monkeypatch.setattr(torchvision.datasets, 'MNIST', Offline)
    (tmp_path / 'mine').mkdir()
    with pytest.raises(lh.DataNotFoundError) as err:
        lh.load_data_mnist(64, root=tmp_path / 'mine')
    assert f"download into the folder you named (root='{tmp_path / 'mine'}') failed" in str(err.value)


@pytest.mark.parametrize('kind', ['missing', 'empty'])
def test_cli_data_dir_is_checked_before_work(tmp_path, project_has_data, monkeypatch, capsys, kind):
    folder = tmp_path / kind
    if kind == 'empty':
        folder.mkdir()
    monkeypatch.setattr(data, 'load_data_fashion_mnist', lambda *a, **k: pytest.fail('data loaded'))
    assert cli.main(['train', '--data-dir', str(folder), '--out', str(tmp_path / 'run')]) == 2
    err = capsys.readouterr().err
    assert f'--data-dir {folder}' in err
    assert ('no such folder' if kind == 'missing' else 'does not hold the four IDX files of FashionMNIST') in err
