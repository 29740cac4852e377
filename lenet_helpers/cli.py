"""Command line: `python -m lenet_helpers train ...` trains headless; `... data` puts the data in place.

Every argument is checked, and every destination tested, before any data is loaded or any training starts.
A subcommand is a subparser added in parser() with set_defaults(run=function); main() calls args.run(args).
"""
import argparse
import gzip
import io
import math
import shutil
import sys
from pathlib import Path

from . import data, files, models, plotting, training
from .recipes import CHAPTER_RECIPE, PLUS_RECIPE, initialise, recipe_optimizer


class CommandError(ValueError):
    """A problem with the command line, said in the command line's words."""


# ---------------------------------------------------------------------------------------------- argument types
def positive_int(text):
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a whole number of at least 1, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a whole number of at least 1, got {text}')
    return value


def positive_float(text):
    """argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number above 0 such as 0.9, got {text!r}') from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f'expected a finite number above 0 such as 0.9, got {text}')
    return value


def seed_value(text):
    """argparse type: a whole number torch can take as a seed."""
    low, high = data.SEED_RANGE
    try:
        return data.check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a whole number from {low} to {high}, got {text!r}') from None


# ---------------------------------------------------------------------------------------------- data
def how_to_get(name):
    """The ways to get a dataset, in the command line's words."""
    lines = [f'Ways to get {name}:']
    if name == 'FashionMNIST':
        lines += ['  1. `python -m lenet_helpers data` puts it in the project data folder (from the system '
                  'package or a download);',
                  '  2. sudo apt-get install dataset-fashion-mnist (Debian/Ubuntu);']
    lines += [f'  {len(lines)}. --data-dir DIR, a folder holding its four IDX files (.gz or not);',
              '  or run once on a machine with internet access: the download is automatic.']
    return '\n'.join(lines)


def _copy_atomically(src, dest):
    """Copy src (decompressing a .gz) to dest through a temporary file, so dest is never half-written."""
    opener = gzip.open if src.suffix == '.gz' else open
    tmp = dest.with_name(f'.{dest.name}.tmp')
    try:
        with opener(src, 'rb') as fin, open(tmp, 'wb') as fout:
            shutil.copyfileobj(fin, fout)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)


def prepare_data(dest=data.PROJECT_DATA_DIR, name='FashionMNIST'):
    """Put the four uncompressed IDX files into dest/name/raw (where torchvision looks too); return it."""
    raw = Path(dest) / name / 'raw'
    files.check_writable_dir(raw, f'{name} files')
    stems = [stem for split in data.SPLITS.values() for stem in split[:2]]
    if not all((raw / stem).is_file() for stem in stems):
        source = data.locate(name) or data.load_split(name, 'train')[2]  # found, or downloaded
        raw.mkdir(parents=True, exist_ok=True)
        for stem in stems:
            _copy_atomically(data._find(Path(source), stem), raw / stem)
    for split in ('train', 'test'):
        data.load_split(name, split, root=dest, download=False)  # check what now lies there
    return raw


# ---------------------------------------------------------------------------------------------- the parser
def parser():
    p = argparse.ArgumentParser(prog='python -m lenet_helpers',
                                description='Train LeNet on Fashion-MNIST without a notebook, or set up the data.')
    sub = p.add_subparsers(dest='command', required=True)
    t = sub.add_parser('train', help='train a model and save its curve (PNG) and history (JSON)',
                       description='Train a model on the real Fashion-MNIST (or MNIST) data and print '
                                   'a line per epoch and the chapter\'s two closing lines. Each model trains with '
                                   f'its own recipe (lenet: {CHAPTER_RECIPE.summary()}; lenet_plus: '
                                   f'{PLUS_RECIPE.summary()}); --optimizer, --lr, --epochs and --batch-size '
                                   f'change one part of it.')
    t.add_argument('--model', default='lenet', choices=sorted(models.MODELS),
                   help='which network to train (default lenet, the chapter\'s)')
    t.add_argument('--epochs', type=positive_int, default=None,
                   help=f'number of passes over the training set (default: the model\'s recipe, '
                        f'{CHAPTER_RECIPE.epochs} for lenet, {PLUS_RECIPE.epochs} for lenet_plus)')
    t.add_argument('--lr', type=positive_float, default=None,
                   help=f'learning rate, the peak for a one-cycle schedule (default: the model\'s recipe, '
                        f'{CHAPTER_RECIPE.lr:g} for lenet, {PLUS_RECIPE.lr:g} for lenet_plus)')
    t.add_argument('--batch-size', type=positive_int, default=None,
                   help=f'examples per minibatch (default: the model\'s recipe, {CHAPTER_RECIPE.batch_size} for lenet, '
                        f'{PLUS_RECIPE.batch_size} for lenet_plus)')
    t.add_argument('--optimizer', default=None, choices=['sgd', 'momentum', 'adam'],
                   help='sgd: plain SGD (the chapter\'s); momentum: Nesterov SGD; adam: AdamW. Default: the '
                        f'model\'s recipe (lenet: {CHAPTER_RECIPE.optimizer}; lenet_plus: {PLUS_RECIPE.optimizer} '
                        f'with a one-cycle schedule)')
    t.add_argument('--dataset', default='fashion-mnist', choices=['fashion-mnist', 'mnist'],
                   help='which data to train on (default fashion-mnist)')
    t.add_argument('--device', default=None, help='cpu, cuda, cuda:N or mps (default: the best available)')
    t.add_argument('--threads', type=positive_int, default=None,
                   help='CPU threads for PyTorch (default: measured, from the CPU quota down)')
    t.add_argument('--seed', type=seed_value, default=None,
                   help=f'seed for a reproducible run, a whole number from 0 to {data.SEED_RANGE[1]} (default: none)')
    t.add_argument('--out', default='runs/latest', help='folder for curve.png and history.json (default runs/latest)')
    t.add_argument('--data-dir', default=None,
                   help='folder holding the four IDX files; only this folder is used (default: search, see README)')
    t.add_argument('--no-progress', action='store_true',
                   help='hide the per-epoch progress bar (hidden anyway when stderr is not a terminal)')
    t.set_defaults(run=train)
    d = sub.add_parser('data', help='find Fashion-MNIST and put it uncompressed in the project data folder')
    d.add_argument('--dest', default=str(data.PROJECT_DATA_DIR), help='target folder (default: data/)')
    d.set_defaults(run=data_command)
    s = sub.add_parser('student', help='make the student versions of the exercise notebooks with nbgrader',
                       description='Build an nbgrader course folder from the exercise notebooks (the '
                                   'instructor versions, left untouched) and write the student versions, '
                                   'solutions removed, into COURSE/release/lenet/.')
    s.set_defaults(run=student)
    s.add_argument('notebooks', nargs='*', help='instructor notebooks (default: notebooks/05-08 with nbgrader metadata)')
    s.add_argument('--course', default='course', help='nbgrader course folder to create or update (default: course/)')
    s.add_argument('--force', action='store_true',
                   help='overwrite files under the course folder that were edited since the last run (listed otherwise)')
    from .experiments import add_ablation_command
    add_ablation_command(sub)  # `ablation`: its arguments and its run live in experiments.py
    return p


# ---------------------------------------------------------------------------------------------- train
DATASET_NAMES = {'fashion-mnist': 'FashionMNIST', 'mnist': 'MNIST'}


def train_recipe(args):
    """The model's own recipe with the options given on the command line put in."""
    given = {'optimizer': args.optimizer, 'lr': args.lr, 'epochs': args.epochs, 'batch_size': args.batch_size}
    return models.model_recipe(args.model).replace(**{k: v for k, v in given.items() if v is not None})


def check_train_args(args):
    """Check the device, the data folder and the output files before any work; raise CommandError in CLI words."""
    try:
        device = training.resolve_device(args.device)
    except ValueError:
        raise CommandError(f'--device {args.device} cannot be used on this machine. Use --device cpu, or leave '
                           f'--device out to take the best device there is.') from None
    out = Path(args.out)
    try:
        files.check_writable_dir(out, 'run')
        for name in ('history.json', 'curve.png'):
            files.check_writable_file(out / name, name)
    except ValueError as e:
        raise CommandError(f'--out {args.out}: {e}') from None
    if args.data_dir is not None:
        name, folder = DATASET_NAMES[args.dataset], Path(args.data_dir).expanduser()
        if not folder.is_dir():
            raise CommandError(f'--data-dir {args.data_dir}: there is no such folder. Check the spelling, or leave '
                               f'--data-dir out to use the usual places (see README).')
        if data.locate(name, folder) is None:
            how = (f'put them there with `python -m lenet_helpers data --dest {args.data_dir}`'
                   if name == 'FashionMNIST' else 'copy them there')
            raise CommandError(f'--data-dir {args.data_dir} does not hold the four IDX files of {name} (in it, in '
                               f'{name}/ or in {name}/raw/): {how}, or leave --data-dir out.')
    return device, out


def _save_curve(history, path, title):
    """Draw the run's curve and write it as a PNG atomically."""
    import matplotlib.pyplot as plt
    fig = plotting.plot_history(history, title=title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', bbox_inches='tight')
    plt.close(fig)
    files.atomic_write_bytes(path, buffer.getvalue())


def train(args):
    recipe = train_recipe(args)
    device, out = check_train_args(args)
    loader = data.load_data_fashion_mnist if args.dataset == 'fashion-mnist' else data.load_data_mnist
    if args.seed is not None:
        training.set_seed(args.seed)
    train_iter, test_iter = loader(recipe.batch_size, root=args.data_dir, seed=args.seed)
    print(f'{args.dataset}: {train_iter.num_examples} training and {test_iter.num_examples} test '
          f'images from {train_iter.source}')
    net = models.get_model(args.model)
    print(f'model {args.model}: {models.count_params(net):,} parameters; recipe: {recipe.summary()}, '
          f'{recipe.init} init')
    initialise(net, recipe.init)
    optimizer = recipe_optimizer(net, recipe, len(train_iter))
    settings = {'model': args.model, 'dataset': args.dataset, 'seed': args.seed, **recipe.to_dict()}
    history = training.train_ch6(net, train_iter, test_iter, recipe.epochs, recipe.lr, device, init=False,
                                 optimizer=optimizer, animate=False,
                                 progress=sys.stderr.isatty() and not args.no_progress, log_epochs=True,
                                 settings=settings, threads=args.threads)
    try:
        out.mkdir(parents=True, exist_ok=True)
        history.save(out / 'history.json')
        _save_curve(history, out / 'curve.png', title=f'{args.model} on {args.dataset}')
    except OSError as e:  # a full disk, a folder removed meanwhile: the old files are left whole
        raise CommandError(f'could not write the results into --out {args.out}: {e}. Any earlier '
                           f'history.json and curve.png there are unchanged; free some space or choose '
                           f'another --out.') from None
    print(f'wrote {out / "curve.png"} and {out / "history.json"}')
    if history.stopped != 'completed':
        print(f'error: the run did not complete ({history.stopped}). {ending_advice(history, recipe)}',
              file=sys.stderr)
        return 1
    return 0


def ending_advice(history, recipe):
    """What to do about a run that did not complete, in the command line's words."""
    kept = f'{len(history.epoch)} finished epoch(s) are in history.json and curve.png'
    if history.stopped == 'diverged':
        return (f'The loss exploded at --lr {recipe.lr:g}: lower --lr (for example --lr {recipe.lr / 10:g}) and run '
                f'again. {kept}.')
    if history.stopped == 'failed':
        return f'{history.message} {kept}.'
    return f'{kept}; run again to train fully.'


# ---------------------------------------------------------------------------------------------- data, student
def data_command(args):
    try:
        files.check_writable_dir(args.dest, 'data')
    except ValueError as e:
        raise CommandError(f'--dest {args.dest}: {e}') from None
    print(f'data in place: {prepare_data(args.dest)}')
    return 0


def student(args):
    from .assign import make_student_versions
    try:
        release = make_student_versions(args.notebooks or None, args.course, force=args.force)
    except RuntimeError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print(f'student versions in {release} (hand out this folder; nbgrader course: {args.course})')
    return 0


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except data.DataNotFoundError as e:
        advice = f'\n{how_to_get(e.dataset)}' if e.dataset else ''
        print(f'error: {e.problem}{advice}', file=sys.stderr)
        return 2
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
