"""Feature maps, kernels, class averages, weight snapshots, checkpoints and the explorer of notebook 08."""
import io

import ipywidgets as widgets
import matplotlib
import pytest
import torch
from PIL import Image

import lenet_helpers as lh
from lenet_helpers import activations as A
from lenet_helpers.data import ImageBatches
from lenet_helpers.snapshots import Snapshots

matplotlib.use('Agg')
LENET_FLOATS = 61_706  # the chapter's LeNet: parameters, no buffers


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (200, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(200) % 10  # 20 images of every class
    return ImageBatches(images, labels, 64)


def equal_states(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope='module')
def trained():
    """A LeNet trained 3 epochs on 256 random images with snapshots; also its expected initial weights."""
    g = torch.Generator().manual_seed(1)
    train = ImageBatches(torch.randint(0, 256, (256, 28, 28), dtype=torch.uint8, generator=g),
                         torch.arange(256) % 10, 32, shuffle=True, generator=g)
    test = ImageBatches(torch.randint(0, 256, (200, 28, 28), dtype=torch.uint8, generator=g),
                        torch.arange(200) % 10, 64)
    lh.set_seed(0)
    expected = lh.lenet().to(memory_format=torch.channels_last)  # as train_ch6 lays out a net on the CPU
    expected.apply(lh.xavier_init)  # what train_ch6's init draws after the same seed
    lh.set_seed(0)
    net = lh.lenet()
    snaps = Snapshots(net)
    history = lh.train_ch6(net, train, test, 3, 0.9, 'cpu', animate=False, progress=False, on_progress=snaps)
    return net, snaps, history, expected, test


# --- snapshots -------------------------------------------------------------------------------------------
def test_snapshots_hold_the_initial_weights_every_epoch_and_the_final_weights(trained):
    net, snaps, history, expected, _ = trained
    assert history.stopped == 'completed' and len(snaps) == 3 + 1 and snaps.epochs == 3
    assert equal_states(snaps.states[0], A.copy_state(expected))  # after init, before the first step
    assert equal_states(snaps.states[-1], A.copy_state(net))
    for a, b in zip(snaps.states, snaps.states[1:]):
        assert not equal_states(a, b), 'every epoch changed the weights'


def test_snapshots_are_copies_that_later_changes_do_not_touch(trained):
    net, snaps, *_ = trained
    first, last = A.copy_state(snaps.net_at(0)), A.copy_state(snaps.net_at(snaps.epochs))
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    try:
        assert equal_states(A.copy_state(snaps.net_at(0)), first)
        assert equal_states(A.copy_state(snaps.net_at(snaps.epochs)), last)
    finally:
        with torch.no_grad():
            for p in net.parameters():
                p.sub_(1.0)


def test_net_at_gives_a_separate_net_and_refuses_missing_epochs(trained):
    net, snaps, *_ = trained
    old = snaps.net_at(0)
    assert old is not net and not old.training
    assert equal_states(A.copy_state(old), snaps.states[0])
    with torch.no_grad():
        next(old.parameters()).zero_()
    assert not equal_states(A.copy_state(old), snaps.states[0]) and snaps.states[0]['1.weight'].abs().sum() > 0
    for bad in (-1, 4, 1.5, True):
        with pytest.raises(ValueError, match='from 0 .before training. to 3'):
            snaps.net_at(bad)


def test_the_memory_bound_in_the_docstring():
    snaps = Snapshots(lh.lenet())
    assert lh.count_params(lh.lenet()) == LENET_FLOATS
    assert snaps.nbytes == LENET_FLOATS * 4  # about 247 kB a snapshot
    assert '61,706' in Snapshots.__doc__ and '247 kB' in Snapshots.__doc__


def test_a_stopped_run_keeps_a_snapshot_per_finished_epoch(trained):
    *_, test = trained

    class StopAfter:  # set once two epochs have ended
        def __init__(self):
            self.epochs = 0

        def is_set(self):
            return self.epochs >= 2

    stop, net = StopAfter(), lh.lenet()
    snaps = Snapshots(net)

    def watch(progress):
        snaps(progress)
        stop.epochs += progress.kind == 'epoch'

    history = lh.train_ch6(net, test, test, 5, 0.5, animate=False, progress=False, on_progress=watch, stop=stop)
    assert history.stopped == 'stopped' and len(history.epoch) == 2 and len(snaps) == 3


def test_snapshot_zero_falls_back_to_the_weights_at_construction():
    net = lh.lenet()
    snaps = Snapshots(net)
    before = A.copy_state(net)
    with torch.no_grad():  # changed in eval mode, never trained: snapshot 0 stays what it was
        next(net.parameters()).add_(1.0)
    net.eval()(torch.rand(1, 1, 28, 28))
    assert equal_states(snaps.states[0], before) and len(snaps) == 1


# --- checkpoints -----------------------------------------------------------------------------------------
def test_checkpoint_round_trip_with_history_and_snapshots(tmp_path, trained):
    net, snaps, history, *_ = trained
    path = A.save_checkpoint(net, tmp_path / 'sub' / 'lenet.pt', history, snaps)
    raw = torch.load(path, weights_only=True)  # plain tensors, numbers and strings only
    assert raw['format'] == A.CHECKPOINT_FORMAT
    saved = A.read_checkpoint(path)
    assert saved.completed and saved.history.test_acc == history.test_acc and saved.history.stopped == 'completed'
    assert len(saved.states) == 4 and all(equal_states(a, b) for a, b in zip(saved.states, snaps.states))
    other = A.load_checkpoint(lh.lenet(), path)
    assert equal_states(A.copy_state(other), A.copy_state(net)) and not other.training
    assert sorted(p.name for p in path.parent.iterdir()) == ['lenet.pt']  # no temporary file left


def test_a_failed_save_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch, trained):
    net, snaps, history, *_ = trained
    path = A.save_checkpoint(net, tmp_path / 'lenet.pt', history, snaps)
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b'half a file')
        raise OSError('No space left on device')

    monkeypatch.setattr(A.torch, 'save', broken_save)
    with pytest.raises(OSError, match='No space'):
        A.save_checkpoint(lh.lenet(), path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ['lenet.pt']


@pytest.mark.parametrize('where', ['folder', 'under_a_file'])
def test_the_destination_is_checked_before_writing(tmp_path, where):
    (tmp_path / 'afile').write_text('x')
    path = tmp_path if where == 'folder' else tmp_path / 'afile' / 'lenet.pt'
    with pytest.raises(ValueError, match='Cannot save the checkpoint'):
        A.save_checkpoint(lh.lenet(), path)
    assert (tmp_path / 'afile').read_text() == 'x'


def damaged_files(tmp_path, good):
    """(name, path) of files a student might find where a checkpoint should be."""
    data = good.read_bytes()
    files = {'empty': b'', 'truncated': data[:len(data) // 2], 'text': b'these are my notes\n',
             'json': b'{"epoch": [1]}', 'random bytes': bytes(range(256)) * 10}
    out = []
    for name, content in files.items():
        p = tmp_path / f'{name.replace(" ", "_")}.pt'
        p.write_bytes(content)
        out.append((name, p))
    p = tmp_path / 'a_list.pt'
    torch.save([1, 2, 3], p)
    out.append(('a list', p))
    p = tmp_path / 'an_object.pt'
    torch.save(torch.nn.Linear(2, 2), p)  # a pickled module: refused by weights_only
    out.append(('a module', p))
    return out


def test_damaged_or_foreign_files_give_one_clear_message(tmp_path):
    good = A.save_checkpoint(lh.lenet(), tmp_path / 'good.pt')
    for name, path in damaged_files(tmp_path, good):
        with pytest.raises(A.CheckpointError) as info:
            A.load_checkpoint(lh.lenet(), path)
        message = str(info.value)
        assert str(path) in message and 'Delete' in message, f'{name}: {message}'
        assert len(message) < 400, f'{name}: keep it to one message: {message}'
        with pytest.raises(A.CheckpointError):
            A.load_trained(lh.lenet(), path)


def test_a_checkpoint_of_another_architecture_names_the_difference(tmp_path):
    plus = A.save_checkpoint(lh.lenet_plus(), tmp_path / 'plus.pt')
    wider = A.save_checkpoint(lh.build_lenet(channels=(8, 16)), tmp_path / 'wider.pt')
    with pytest.raises(A.CheckpointError, match=r'another network: .*lacks|another network: this net has no'):
        A.load_checkpoint(lh.lenet(), plus)
    with pytest.raises(A.CheckpointError, match=r'has shape \(8, 1, 5, 5\) there and \(6, 1, 5, 5\) here'):
        A.load_checkpoint(lh.lenet(), wider)
    with pytest.raises(A.CheckpointError, match='another network'):
        A.load_trained(lh.lenet(), wider)
    assert wider.exists() and plus.exists()  # never removed or overwritten


def test_only_a_completed_run_is_reused(tmp_path, trained, capsys):
    net, snaps, history, *_ = trained
    path = tmp_path / 'lenet.pt'
    assert A.load_trained(lh.lenet(), path) is None
    assert 'No saved run' in capsys.readouterr().out
    for ended in ('stopped', 'interrupted', 'diverged'):
        cut = lh.History(**{**history.to_dict(), 'stopped': ended, 'epoch': history.epoch[:1]})
        A.save_checkpoint(net, path, cut, snaps.states[:2])
        fresh = lh.lenet()
        start = A.copy_state(fresh)
        assert A.load_trained(fresh, path) is None
        assert f"ended as '{ended}'" in capsys.readouterr().out and equal_states(A.copy_state(fresh), start)
    torch.save(A.copy_state(net), path)  # what older versions saved: weights without a record
    assert A.load_trained(lh.lenet(), path) is None and 'older version' in capsys.readouterr().out
    A.save_checkpoint(net, path, history, snaps)
    fresh = lh.lenet()
    got_history, got_snaps = A.load_trained(fresh, path)
    assert 'Loaded the trained net' in capsys.readouterr().out
    assert equal_states(A.copy_state(fresh), A.copy_state(net)) and got_history.test_acc == history.test_acc
    assert len(got_snaps) == 4 and equal_states(A.copy_state(got_snaps.net_at(0)), snaps.states[0])


def test_a_run_with_other_settings_is_not_reused(tmp_path, trained, capsys):
    """Notebooks share a checkpoint (04 saves the chapter's run, 08 reuses it) only when it is the same run."""
    net, snaps, history, *_ = trained
    path = tmp_path / 'lenet.pt'
    A.save_checkpoint(net, path, history, snaps)
    epochs = history.settings['epochs']
    fresh = lh.lenet()
    start = A.copy_state(fresh)
    assert A.load_trained(fresh, path, epochs=epochs + 7, lr=history.settings['lr']) is None
    out = capsys.readouterr().out
    assert f'epochs {epochs} instead of {epochs + 7}' in out and 'not reused' in out
    assert equal_states(A.copy_state(fresh), start)
    assert A.load_trained(fresh, path, epochs=epochs, lr=history.settings['lr'],
                          examples=history.settings['examples']) is not None
    assert 'Loaded the trained net' in capsys.readouterr().out


# --- feature maps and figures ----------------------------------------------------------------------------
def test_block_outputs_of_lenet_and_lenet_plus():
    x = torch.rand(1, 1, 28, 28)
    assert [tuple(o.shape) for o in A.block_outputs(lh.lenet(), x)] == [(1, 6, 14, 14), (1, 16, 5, 5)]
    assert [tuple(o.shape) for o in A.block_outputs(lh.lenet_plus(), x)] == [(1, 16, 14, 14), (1, 32, 7, 7),
                                                                             (1, 64, 3, 3)]
    no_pool = lh.build_lenet(pool=None, activation='relu', batch_norm=True)
    outs = A.block_outputs(no_pool, x)
    assert [tuple(o.shape) for o in outs] == [(1, 6, 28, 28), (1, 16, 24, 24)] and (outs[0] >= 0).all()


def test_block_outputs_are_what_the_layers_compute():
    net, x = lh.lenet(), torch.rand(1, 1, 28, 28)
    expected = net[3](net[2](net[1](x)))
    assert torch.allclose(A.block_outputs(net, x)[0], expected)


def test_pick_example_finds_the_class_and_explains_bad_choices(data):
    x = A.pick_example(data, 'Coat', 3)
    assert x.shape == (1, 1, 28, 28)
    assert torch.equal(x[0, 0], data.images[4 + 10 * 3].float() / 255)  # label 4 is Coat
    with pytest.raises(ValueError, match='20 images of class'):
        A.pick_example(data, 'Coat', 20)
    with pytest.raises(ValueError, match='Pullover'):
        A.pick_example(data, 'Sweater')


def test_class_mean_activations_matches_a_direct_computation(data):
    net = lh.lenet()
    means = A.class_mean_activations(net, data, block=1)
    assert means.shape == (10, 16)
    X = data.images[data.labels == 2].float().div(255).unsqueeze(1)
    direct = A.block_outputs(net, X)[1].mean(dim=(0, 2, 3))
    assert torch.allclose(means[2], direct, atol=1e-5)


def test_feature_map_figure_uses_one_labelled_scale_per_block():
    net = lh.lenet()
    rows = [(name, x, A.block_outputs(net, x)) for name, x in (('a', torch.rand(1, 1, 28, 28)),
                                                                  ('b', torch.zeros(1, 1, 28, 28)))]
    fig = A.plot_block_maps(rows)
    images = [im for ax in fig.get_axes() for im in ax.get_images()]
    assert len(images) == 2 + 2 * (6 + 16)
    block1 = {im.get_clim() for im in images if im.get_array().shape == (14, 14)}
    block2 = {im.get_clim() for im in images if im.get_array().shape == (5, 5)}
    assert len(block1) == 1 and len(block2) == 1  # both inputs drawn on the same scale
    labels = [ax.get_xlabel() for ax in fig.get_axes()]
    assert sum('one scale for both rows' in lab for lab in labels) == 2


def test_kernels_and_class_means_figures(data):
    net = lh.lenet()
    fig = A.plot_kernels(net)
    clims = {im.get_clim() for ax in fig.get_axes() for im in ax.get_images()}
    assert len(clims) == 1 and list(clims)[0][0] == -list(clims)[0][1]  # symmetric around zero
    fig = A.plot_class_means(A.class_mean_activations(net, data))
    assert 'Pullover minus Coat' in fig.get_axes()[1].get_ylabel()


# --- the explorer ----------------------------------------------------------------------------------------
@pytest.fixture
def explorer(trained):
    net, snaps, _, _, test = trained
    return A.FeatureMapExplorer(net, test, snaps)


def png_size(png):
    return Image.open(io.BytesIO(png)).size


def panel(ex, key, frame):
    p = ex.panels[key]
    h, w = p.size
    return frame[p.y:p.y + h, p.x:p.x + w]


def test_the_epoch_slider_goes_from_random_weights_to_the_end(explorer):
    ex = explorer
    assert (ex.epoch_slider.min, ex.epoch_slider.max, ex.epoch_slider.value) == (0, 3, 3)
    assert ex.epoch_slider.continuous_update is False  # updates on release
    last = ex.image.value
    ex.epoch_slider.value = 0
    assert ex.image.value != last and ex.epoch == 0
    assert 'Epoch 0 of 3: before training' in ex.status.value
    first, final = ex.frame(0), ex.frame(3)
    for key in ('kernels', 'block 1', 'block 2'):
        assert (panel(ex, key, first) != panel(ex, key, final)).any(), f'{key} should change with the epoch'
    assert (panel(ex, 'A', first) == panel(ex, 'A', final)).all()  # the input itself does not


def test_the_kernels_panel_paints_the_snapshot_weights(explorer, trained):
    ex, snaps = explorer, trained[1]
    p = ex.panels['kernels']
    w = snaps.states[0]['1.weight'][0, 0]  # kernel 1 at epoch 0, top left of the mosaic
    y, x = p.y + 2 * ex._kernel_gap * p.scale, p.x  # first kernel row starts below its label rows
    cmap = matplotlib.colormaps[p.cmap]
    expected = cmap((float(w[0, 0]) - p.vmin) / (p.vmax - p.vmin), bytes=True)[:3]
    assert tuple(ex.frame(0)[y + p.scale // 2, x + p.scale // 2]) == tuple(expected)


def test_scales_are_shared_by_channels_inputs_thumbnails_and_epochs(explorer, trained):
    ex, snaps, test = explorer, trained[1], trained[4]
    X = ex._reference_images()
    assert len(X) == 10 * 10
    for b in (0, 1):
        outs = [A.block_outputs(snaps.net_at(e), X)[b] for e in range(4)]
        p = ex.panels[f'block {b + 1}']
        assert (p.vmin, p.vmax) == pytest.approx((min(float(o.min()) for o in outs), max(float(o.max()) for o in outs)))
    kmax = max(float(s['1.weight'].abs().max()) for s in snaps.states)
    assert (ex.panels['kernels'].vmin, ex.panels['kernels'].vmax) == pytest.approx((-kmax, kmax))


def test_activations_are_computed_once_per_input_and_epoch(explorer, monkeypatch):
    ex, calls = explorer, []
    real = A.block_outputs
    monkeypatch.setattr(A, 'block_outputs', lambda net, x: calls.append(len(x)) or real(net, x))
    seen = set(ex._acts)
    for epoch in (0, 1, 0, 1, 3, 0):
        ex.set_epoch(epoch)
    needed = {(ex.inputs[s], e) for s in 'AB' for e in (0, 1, 3)}
    assert calls.count(1) == len(needed - seen) > 0  # each (input, epoch) computed once, when first needed
    before = len(calls)
    ex.set_epoch(1)
    assert len(calls) == before


def test_thumbnails_pick_the_inputs(explorer):
    ex = explorer
    assert len(ex.strip.children) == 10
    before = ex.image.value
    bag = next(b for slot, choice, b in ex._buttons if slot == 'B' and choice == ('Bag', 0))
    bag.click()
    assert ex.inputs['B'] == ('Bag', 0) and ex.image.value != before and bag.button_style == 'info'
    assert 'input B: Bag 1' in ex.status.value  # counted from 1, like every label
    ex.strip_choice.value = 'Coat'
    assert [c for _, c, _ in ex._buttons[::2]] == [('Coat', i) for i in range(10)]
    ex._buttons[2 * 4 + 0][2].click()  # A under the fifth coat
    assert ex.inputs['A'] == ('Coat', 4) and 'input A: Coat 5' in ex.status.value


def test_a_bad_choice_is_explained_and_keeps_the_picture(explorer):
    ex = explorer
    before = ex.image.value
    ex.pick('A', 'Coat', 50)  # only 20 coats here
    assert 'pick an index from 0 to 19' in ex.message.value and ex.image.value == before
    with pytest.raises(ValueError, match='from 0 .before training. to 3'):
        ex.set_epoch(7)


def test_the_picture_is_drawn_at_the_size_it_is_shown_with_readable_text(explorer):
    ex = explorer
    assert png_size(ex.image.value) == (ex.WIDTH, ex.height) and ex.height <= 600
    assert ex.image.layout.width == f'{ex.WIDTH}px' and ex.image.width == str(ex.WIDTH)
    fig = ex.template_figure
    assert fig.dpi == 96 and tuple(fig.get_size_inches() * fig.dpi) == pytest.approx((ex.WIDTH, ex.height))
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]
    assert len(texts) > 30 and min(t.get_fontsize() for t in texts) >= 9
    labels = [t.get_text() for t in texts]
    assert 'ch 1' in labels and 'ch 16' in labels and 'ch 0' not in labels  # channels counted from 1


def test_the_control_shows_itself_with_a_static_picture(explorer):
    ex = explorer
    bundle = ex._repr_mimebundle_()
    assert 'application/vnd.jupyter.widget-view+json' in bundle
    assert png_size(__import__('base64').b64decode(bundle['image/png'])) == (ex.WIDTH, ex.height)
    assert '<img src="data:image/png;base64,' in bundle['text/html'] and 'Epoch 3 of 3' in bundle['text/html']
    assert 'VBox' not in bundle['text/plain'] and 'FeatureMapExplorer' in bundle['text/plain']
    assert not hasattr(ex, 'show') and not isinstance(ex, widgets.Widget)


def test_without_snapshots_the_explorer_shows_the_net_as_it_is(data):
    ex = A.FeatureMapExplorer(lh.lenet(), data, first=('Coat', 2), second=('Bag', 1))
    assert ex.epochs is None and ex.epoch_slider.disabled and 'The trained net.' in ex.status.value
    assert ex.inputs == {'A': ('Coat', 2), 'B': ('Bag', 1)} and ex.image.value[:4] == b'\x89PNG'


def test_snapshots_of_another_architecture_are_refused(data):
    with pytest.raises(A.CheckpointError, match='another network'):
        A.FeatureMapExplorer(lh.lenet(), data, [A.copy_state(lh.lenet_plus())])


def test_quick_mode_checkpoints_go_to_a_fresh_temporary_folder(monkeypatch, tmp_path):
    monkeypatch.setenv('LENET_QUICK', '1')
    first, second = A.checkpoint_path('lenet_08'), A.checkpoint_path('lenet_08')
    assert first.name == 'lenet_08.pt' and first.parent != second.parent and first.parent.is_dir()
    assert 'checkpoints' not in first.parts  # never a student's saved run
    monkeypatch.setenv('LENET_QUICK', '0')
    assert A.checkpoint_path('lenet_08') == A.Path('checkpoints') / 'lenet_08.pt'


def test_a_named_checkpoint_folder_wins_over_quick_and_full_mode(monkeypatch, tmp_path):
    monkeypatch.setenv('LENET_CHECKPOINT_DIR', str(tmp_path))
    for quick in ('1', '0'):
        monkeypatch.setenv('LENET_QUICK', quick)
        assert A.checkpoint_path('lenet_08') == tmp_path / 'lenet_08.pt'


def test_an_unwritable_destination_is_refused_before_training(tmp_path, trained, capsys):
    net, snaps, history, *_ = trained
    (tmp_path / 'afile').write_text('x')
    with pytest.raises(ValueError, match='Cannot save the checkpoint'):
        A.load_trained(lh.lenet(), tmp_path / 'afile' / 'lenet.pt')
    stopped = tmp_path / 'stopped.pt'  # a writable place: a stopped run is not reused, training may start
    A.save_checkpoint(net, stopped, lh.History(**{**history.to_dict(), 'stopped': 'stopped'}))
    assert A.load_trained(lh.lenet(), stopped) is None and 'not reused' in capsys.readouterr().out


def test_a_saved_notebook_shows_the_picture_not_a_repr(explorer):
    """nbconvert's HTML of an executed cell whose output is the explorer (no widget state saved)."""
    import nbformat
    from nbconvert import HTMLExporter
    data = explorer._repr_mimebundle_()
    cell = nbformat.v4.new_code_cell('explorer', execution_count=1, outputs=[
        nbformat.v4.new_output('display_data', data=data)])
    html, _ = HTMLExporter().from_notebook_node(nbformat.v4.new_notebook(cells=[cell]))
    assert f'data:image/png;base64,{data["image/png"][:100]}' in html
    assert 'VBox(children' not in html and 'Error displaying widget' not in html
