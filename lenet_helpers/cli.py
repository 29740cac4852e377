"""Command line: `python -m lenet_helpers train ...` trains headless; `... data` puts the data in place."""
import argparse
import gzip
import shutil
import sys
from pathlib import Path

from . import data, models, plotting, training


def prepare_data(dest=data.PROJECT_DATA_DIR, name='FashionMNIST'):
    """Put the four uncompressed IDX files into dest/name/raw (where torchvision looks too); return it."""
    raw = Path(dest) / name / 'raw'
    stems = [stem for split in data.SPLITS.values() for stem in split[:2]]
    if not all((raw / stem).is_file() for stem in stems):
        source = data.locate(name) or data.load_split(name, 'train')[2]  # found, or downloaded
        raw.mkdir(parents=True, exist_ok=True)
        for stem in stems:
            src = data._find(Path(source), stem)
            opener = gzip.open if src.suffix == '.gz' else open
            with opener(src, 'rb') as fin, open(raw / stem, 'wb') as fout:
                shutil.copyfileobj(fin, fout)
    for split in ('train', 'test'):
        data.load_split(name, split, root=dest, download=False)  # check what now lies there
    return raw


def parser():
    p = argparse.ArgumentParser(prog='python -m lenet_helpers',
                                description='Train LeNet on Fashion-MNIST without a notebook, or set up the data.')
    sub = p.add_subparsers(dest='command', required=True)
    t = sub.add_parser('train', help='train a model and save its curve (PNG) and history (JSON)',
                       description='Train a model on the real Fashion-MNIST (or MNIST) data and print '
                                   'a line per epoch and the chapter\'s two closing lines.')
    t.add_argument('--epochs', type=int, default=10, help='number of passes over the training set (default 10)')
    t.add_argument('--lr', type=float, default=0.9, help='SGD learning rate (default 0.9, the chapter\'s)')
    t.add_argument('--batch-size', type=int, default=128, help='examples per minibatch (default 128)')
    t.add_argument('--model', default='lenet', choices=sorted(models.MODELS),
                   help='which network to train (default lenet, the chapter\'s)')
    t.add_argument('--optimizer', default='sgd', choices=['sgd', 'adam'],
                   help='sgd: plain SGD at --lr (the chapter\'s); adam: AdamW (weight decay 1e-4) with a one-cycle schedule peaking at --lr '
                        '(for lenet_plus use --lr 0.003)')
    t.add_argument('--dataset', default='fashion-mnist', choices=['fashion-mnist', 'mnist'],
                   help='which data to train on (default fashion-mnist)')
    t.add_argument('--device', default=None, help='cpu, cuda, cuda:N or mps (default: the best available)')
    t.add_argument('--seed', type=int, default=None, help='seed for a reproducible run (default: none)')
    t.add_argument('--out', default='runs/latest', help='folder for curve.png and history.json (default runs/latest)')
    t.add_argument('--data-dir', default=None, help='folder holding the IDX files (default: search, see README)')
    t.add_argument('--no-progress', action='store_true', help='hide the per-epoch progress bar (hidden anyway when stderr is not a terminal)')
    d = sub.add_parser('data', help='find Fashion-MNIST and put it uncompressed in the project data folder')
    d.add_argument('--dest', default=str(data.PROJECT_DATA_DIR), help='target folder (default: data/)')
    s = sub.add_parser('student', help='make the student versions of the exercise notebooks with nbgrader',
                       description='Build an nbgrader course folder from the exercise notebooks (the '
                                   'instructor versions, left untouched) and write the student versions, '
                                   'solutions removed, into COURSE/release/lenet/.')
    s.add_argument('notebooks', nargs='*', help='instructor notebooks (default: notebooks/05-08 with nbgrader metadata)')
    s.add_argument('--course', default='course', help='nbgrader course folder to create or update (default: course/)')
    from .experiments import add_ablation_command
    add_ablation_command(sub)  # `ablation`: its arguments and its run live in experiments.py
    return p


def train(args):
    loader = data.load_data_fashion_mnist if args.dataset == 'fashion-mnist' else data.load_data_mnist
    if args.seed is not None:
        training.set_seed(args.seed)
    train_iter, test_iter = loader(args.batch_size, root=args.data_dir, seed=args.seed)
    print(f'{args.dataset}: {train_iter.num_examples} training and {test_iter.num_examples} test '
          f'images from {train_iter.source}')
    net = models.get_model(args.model)
    print(f'model {args.model}: {models.count_params(net):,} parameters')
    optimizer = None
    if args.optimizer == 'adam':
        from .recipes import PLUS_RECIPE, make_optimizer
        optimizer = make_optimizer(net, 'adam', args.lr, args.epochs, len(train_iter),
                                   weight_decay=PLUS_RECIPE.weight_decay)
    history = training.train_ch6(net, train_iter, test_iter, args.epochs, args.lr, args.device, optimizer=optimizer,
                                 animate=False, progress=sys.stderr.isatty() and not args.no_progress, log_epochs=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    history.save(out / 'history.json')
    plotting.plot_history(history, out / 'curve.png', title=f'{args.model} on {args.dataset}')
    print(f'wrote {out / "curve.png"} and {out / "history.json"}')
    return 0 if history.stopped == 'completed' else 1


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        if args.command == 'train':
            return train(args)
        if args.command == 'ablation':
            return args.run(args)
        if args.command == 'student':
            from .assign import make_student_versions
            try:
                release = make_student_versions(args.notebooks or None, args.course)
            except RuntimeError as e:
                print(f'error: {e}', file=sys.stderr)
                return 2
            print(f'student versions in {release} (hand out this folder; nbgrader course: {args.course})')
            return 0
        print(f'data in place: {prepare_data(args.dest)}')
        return 0
    except (ValueError, data.DataNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
