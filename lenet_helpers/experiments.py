"""Experiments without controls: seeded runs that differ in one thing, the lenet_plus ablation, the MNIST probe."""
import matplotlib.pyplot as plt

from .files import check_writable_file
from .models import CHAPTER_DESIGN, LENET_PLUS_DESIGN, count_params
from .recipes import CHAPTER_RECIPE, PLUS_RECIPE, Recipe, initialise, recipe_optimizer
from .runs import RunLog, epochs_to_reach  # noqa: F401  (epochs_to_reach: the notebooks' name for it lives here too)
from .snapshots import Snapshots
from .training import set_seed, train_ch6


def reset_data_order(train_iter, seed):
    """Make the next pass over train_iter shuffle exactly as after set_seed(seed): same data order per run."""
    set_seed(seed)
    if getattr(train_iter, 'generator', None) is not None:
        train_iter.generator.manual_seed(seed)


def controlled_run(make_net, train_iter, test_iter, num_epochs=None, lr=None, *, recipe=CHAPTER_RECIPE, seed=0,
                   checkpoint=None, reuse=True, **train_kw):
    """Build make_net() and train it by recipe with a fixed seed and data order; return (net, History).

    num_epochs and lr, when given, replace the recipe's. Two calls that differ only in make_net see the same
    initial random stream and the same batches. train_kw goes to train_ch6 (on_progress=, stop=, device=...).
    The run's History.settings records the recipe in words.
    With ``checkpoint`` (a path, e.g. checkpoint_path('lenet_chapter')) a completed run saved there with the
    same recipe, epochs, learning rate and number of training images is loaded instead of trained again
    (notebook 07 reuses notebook 04's and 06's runs this way), and a new completed run is saved there;
    ``reuse=False`` always trains, and still saves.
    """
    from .activations import load_trained, save_checkpoint
    if not isinstance(recipe, Recipe):
        raise TypeError(f'recipe must be a lenet_helpers.Recipe, got {type(recipe).__name__}.')
    recipe = recipe.replace(**{k: v for k, v in (('epochs', num_epochs), ('lr', lr)) if v is not None})
    train_kw['settings'] = {'recipe': recipe.summary(), **(train_kw.get('settings') or {})}
    reset_data_order(train_iter, seed)
    net = initialise(make_net(), recipe.init)
    if checkpoint is not None and reuse:
        saved = load_trained(net, checkpoint, epochs=recipe.epochs, lr=recipe.lr,
                             examples=getattr(train_iter, 'num_examples', None), recipe=recipe.summary())
        if saved:
            return net, saved[0]
    elif checkpoint is not None:
        check_writable_file(checkpoint, 'checkpoint')  # before the training, not after it
    opt = recipe_optimizer(net, recipe, len(train_iter))
    train_kw.setdefault('animate', False)
    if checkpoint is not None:  # saved with snapshots, as notebook 08's explorer needs them
        snapshots, watcher = Snapshots(net), train_kw.pop('on_progress', None)

        def on_progress(p):
            snapshots(p)
            if watcher is not None:
                watcher(p)
        train_kw['on_progress'] = on_progress
    history = train_ch6(net, train_iter, test_iter, recipe.epochs, recipe.lr, init=False, optimizer=opt, **train_kw)
    if checkpoint is not None and history.stopped == 'completed':
        try:
            save_checkpoint(net, checkpoint, history, snapshots)
        except (OSError, ValueError) as e:  # the trained net and its history are returned all the same
            print(f'The run was not saved to {checkpoint} ({e}); the trained net and its history are kept here.')
    return net, history


def plot_runs(log, metrics=('test_acc', 'train_loss'), figsize=(9, 3)):
    """Overlay every run of a RunLog, one panel per metric; returns the (pyplot) figure."""
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize)
    for ax, m in zip(list(axes) if len(metrics) > 1 else [axes], metrics):
        log.plot(m, ax=ax)
    fig.tight_layout()
    return fig


def describe(design):
    """A one-line summary of a Design, e.g. 'conv 6-16 k5 sigmoid avg | fc 120-84'."""
    extras = ((' pool-first' if design.pool_first and design.pool else '') + (' bn' if design.batch_norm else '')
              + (f' drop{design.dropout:g}' if design.dropout else ''))
    fc = '-'.join(map(str, design.hidden)) or 'none'
    ks = design.kernel_sizes
    k = str(ks[0]) if len(set(ks)) == 1 else '-'.join(map(str, ks))
    return (f'conv {"-".join(map(str, design.channels))} k{k} {design.activation} '
            f'{design.pool or "nopool"}{extras} | fc {fc}')


# ---------------------------------------------------------------------------------------------- the ablation
_CHAPTER_CONVS = {k: getattr(CHAPTER_DESIGN, k) for k in ('channels', 'kernel_sizes', 'paddings', 'strides')}
_SGD = dict(optimizer='sgd', schedule='constant', weight_decay=0.0)
# Each variant undoes ONE change of lenet_plus (its design or its recipe); the last is the chapter's LeNet.
ABLATIONS = {
    'lenet_plus, every change': (LENET_PLUS_DESIGN, PLUS_RECIPE),
    'undo ReLU (sigmoid)': (LENET_PLUS_DESIGN.replace(activation='sigmoid'), PLUS_RECIPE),
    'undo max pooling (average)': (LENET_PLUS_DESIGN.replace(pool='avg'), PLUS_RECIPE),
    'undo batch norm': (LENET_PLUS_DESIGN.replace(batch_norm=False), PLUS_RECIPE),
    'undo dropout': (LENET_PLUS_DESIGN.replace(dropout=0.0), PLUS_RECIPE),
    'undo pooling first (pool after ReLU)': (LENET_PLUS_DESIGN.replace(pool_first=False), PLUS_RECIPE),
    "undo 3rd conv and widths (LeNet's 6-16 conv)": (LENET_PLUS_DESIGN.replace(**_CHAPTER_CONVS), PLUS_RECIPE),
    'undo momentum + one-cycle (plain SGD lr 0.1)': (LENET_PLUS_DESIGN, PLUS_RECIPE.replace(lr=0.1, **_SGD)),
    "the chapter's LeNet and recipe": (CHAPTER_DESIGN, CHAPTER_RECIPE),
}


def run_ablation(train_iter, test_iter, num_epochs, variants=ABLATIONS, seed=0, log=None, **train_kw):
    """Train every (Design, Recipe) variant with the same seed, data order and epochs; return a RunLog."""
    log = log if log is not None else RunLog()
    for name, (design, recipe) in variants.items():
        recipe = recipe.replace(epochs=num_epochs)
        print(f'--- {name}: {describe(design)}; {recipe.optimizer} lr {recipe.lr:g} {recipe.schedule}')
        _, history = controlled_run(design.build, train_iter, test_iter, recipe=recipe, seed=seed, **train_kw)
        log.add(name, history, design=design, recipe=recipe, params=count_params(design.build()))
    return log


def add_ablation_command(sub):
    """Add `ablation` to the CLI's subcommands (cli.py calls this)."""
    a = sub.add_parser('ablation', help="measure notebook 06's ablation and save it as a run log (JSON)",
                       description='Train lenet_plus with one change undone at a time, with the same seed, '
                                   'data order and epochs, and save every run as a run log.')
    a.add_argument('--epochs', type=int, default=3, help='epochs per variant (default 3)')
    a.add_argument('--n-train', type=int, default=None, help='use only the first N training images')
    a.add_argument('--threads', type=int, default=None,
                   help='CPU threads for every variant (default: measured per run; fix it to compare seconds)')
    a.add_argument('--out', default='notebooks/results/ablation.json', help='run log to write')
    a.set_defaults(run=ablation_command)
    return a


def ablation_command(args):
    """Run the ablation from parsed CLI arguments; the destination is checked before any training."""
    from .data import load_data_fashion_mnist
    from .files import check_writable_file
    if args.epochs < 1:
        raise ValueError(f'--epochs must be at least 1, got {args.epochs}.')
    if args.threads is not None and args.threads < 1:
        raise ValueError(f'--threads must be at least 1, got {args.threads}.')
    check_writable_file(args.out, 'ablation run log')
    train_iter, test_iter = load_data_fashion_mnist(128, seed=0, n_train=args.n_train)
    log = run_ablation(train_iter, test_iter, args.epochs, progress=False, log_epochs=True, threads=args.threads)
    log.save(args.out)
    print(f'wrote {args.out}')
    return 0


# ---------------------------------------------------------------------------------------------- MNIST probe
def try_mnist(batch_size=128, root=None, download=True, **kwargs):
    """Return (train_iter, test_iter, message); the iterators are None, and the message says how to get
    MNIST, when it is neither on this machine nor downloadable."""
    from .data import DataNotFoundError, load_data_mnist
    try:
        train_iter, test_iter = load_data_mnist(batch_size, root=root, download=download, **kwargs)
    except DataNotFoundError as e:
        return None, None, f'MNIST is not available, so the cells that need it will say "skipped".\n{e}'
    return train_iter, test_iter, (f'MNIST found: {train_iter.num_examples} training and '
                                   f'{test_iter.num_examples} test images from {train_iter.source}')
