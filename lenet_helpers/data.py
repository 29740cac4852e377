"""Fashion-MNIST and MNIST, found offline first, decoded once, served as batches from memory."""
import gzip
import numbers
import operator
import os
import socket
from pathlib import Path

import torch

FASHION_MNIST_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                         'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
MNIST_CLASSES = tuple(str(d) for d in range(10))

# The four IDX files of each dataset, with the counts a complete copy must have.
SPLITS = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 60000),
          'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 10000)}
# Where each dataset may already lie on this machine (the Debian/Ubuntu packages).
SYSTEM_DIRS = {'FashionMNIST': Path('/usr/share/datasets/fashion-mnist'),
               'MNIST': Path('/usr/share/datasets/mnist')}
PROJECT_DATA_DIR = Path(__file__).resolve().parent.parent / 'data'
DOWNLOAD_TIMEOUT = 20  # seconds per network operation
DATASETS = ('FashionMNIST', 'MNIST')  # the datasets load_data knows
IDX_MAGIC = {3: 2051, 1: 2049}  # number of dimensions -> magic number (unsigned byte data)


class DataNotFoundError(FileNotFoundError):
    """The dataset's files are missing or damaged; the message says how to get them.

    ``problem`` is what went wrong; with ``dataset`` set, the message adds the ways to get that dataset.
    """

    def __init__(self, problem, dataset=None):
        self.problem, self.dataset = problem, dataset
        super().__init__(problem if dataset is None else f'{problem}\n{_how_to_get(dataset)}')

    def __str__(self):
        return self.args[0]


def get_text_labels(labels, classes=FASHION_MNIST_CLASSES):
    """Return the class names of numeric labels (whole numbers from 0 to len(classes) - 1)."""
    names = []
    for i in labels:
        try:
            if isinstance(i, bool):
                raise TypeError
            index = operator.index(i)  # ints, numpy ints and one-element integer tensors; never floats
        except (TypeError, RuntimeError, ValueError):
            raise ValueError(f'Labels must be whole numbers from 0 to {len(classes) - 1}, got {i!r}. '
                             f'Pass class numbers such as y or y_hat.argmax(dim=1), not scores.') from None
        if not 0 <= index < len(classes):
            raise ValueError(f'Label {index} is not a class: there are {len(classes)} classes, numbered 0 to '
                             f'{len(classes) - 1}.')
        names.append(classes[index])
    return names


get_fashion_mnist_labels = get_text_labels  # the name d2l gives it


def _how_to_get(name):
    env = 'LENET_DATA_DIR'
    lines = [f'Three ways to get {name}:',
             f'  1. point the loader at a folder holding the four IDX files (.gz or not): '
             f'load_data_...(..., root=DIR) or the environment variable {env}=DIR;',
             f'  2. put them in the project data folder {PROJECT_DATA_DIR / name / "raw"}'
             f' (`make data` does this for Fashion-MNIST);']
    if name == 'FashionMNIST':
        lines.append('  3. install the Debian/Ubuntu package: sudo apt-get install dataset-fashion-mnist;')
    lines.append('  or allow downloads (download=True, the default) on a machine with internet access.')
    return '\n'.join(lines)


class DataUnreadableError(DataNotFoundError):
    """A data file exists but this user may not read it (permissions); the message says how to fix it."""


def read_idx(path):
    """Read one IDX file (optionally gzipped) into a uint8 tensor, checking its header and size."""
    path = Path(path)
    opener = gzip.open if path.suffix == '.gz' else open
    try:
        with opener(path, 'rb') as f:
            data = f.read()
    except PermissionError as e:
        raise DataUnreadableError(f'{path} cannot be read: permission denied (the file is not damaged). '
                                  f'Give yourself read access (chmod a+r {path}) or copy the data to a '
                                  f'folder of your own and point the loader at it (root=, LENET_DATA_DIR, or '
                                  f'--data-dir on the command line).') from e
    except (OSError, EOFError) as e:  # truncated gzip streams raise EOFError
        raise DataNotFoundError(f'{path} could not be read ({e}); the file is damaged.') from e
    if len(data) < 8:
        raise DataNotFoundError(f'{path} is too short to be an IDX file ({len(data)} bytes): the file is '
                                f'damaged or empty.')
    magic = int.from_bytes(data[:4], 'big')
    ndim = data[3]
    if ndim not in IDX_MAGIC or magic != IDX_MAGIC[ndim]:
        raise DataNotFoundError(f'{path} is not an IDX file of unsigned bytes '
                                f'(magic number {magic}, expected 2049 or 2051): the file is damaged or '
                                f'is some other file under this name.')
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = offset + int(torch.tensor(shape).prod())
    if len(data) != expected:
        raise DataNotFoundError(f'{path} holds {len(data)} bytes, but its header {shape} '
                                f'promises {expected}: the file is truncated or damaged.')
    return torch.frombuffer(bytearray(data[offset:]), dtype=torch.uint8).reshape(shape)


def _find(folder, stem):
    """Return the path of stem or stem.gz inside folder (or its raw/ subfolder), else None."""
    for sub in (folder, folder / 'raw'):
        for name in (stem, stem + '.gz'):
            if (sub / name).is_file():
                return sub / name
    return None


def explicit_dir(root=None):
    """The folder the user named (root=, else $LENET_DATA_DIR) with how it was named, or (None, None)."""
    if root is not None and str(root) != '':
        return Path(root).expanduser(), f'root={str(root)!r}'
    env = os.environ.get('LENET_DATA_DIR')
    if env:
        return Path(env).expanduser(), f'LENET_DATA_DIR={env}'
    return None, None


def _candidate_dirs(name, root):
    """The folders searched, in order. A folder the user named (root=, else $LENET_DATA_DIR) is the only
    place searched; otherwise the project data/ folder, then the system package."""
    base, _ = explicit_dir(root)
    if base is not None:
        return [base / name, base]
    dirs = [PROJECT_DATA_DIR / name, PROJECT_DATA_DIR]
    if name in SYSTEM_DIRS:
        dirs.append(SYSTEM_DIRS[name])
    return dirs


def locate(name='FashionMNIST', root=None):
    """Return the first folder that holds all four IDX files of a dataset, or None."""
    stems = [s for images, labels, _ in SPLITS.values() for s in (images, labels)]
    for folder in _candidate_dirs(name, root):
        if all(_find(folder, s) for s in stems):
            return folder
    return None


def _download(name, root):
    """Fetch a dataset with torchvision into root/name/raw; return that folder or raise."""
    import torchvision
    cls = {'FashionMNIST': torchvision.datasets.FashionMNIST,
           'MNIST': torchvision.datasets.MNIST}[name]
    named, how = explicit_dir(root)
    root = named or PROJECT_DATA_DIR
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)  # a closed network fails fast instead of hanging
    made = [d for d in (root, root / name, root / name / 'raw') if not d.exists()]
    try:
        for train in (True, False):
            cls(root=str(root), train=train, download=True)
    except Exception as e:  # offline, a proxy, a mirror down: all end the same way for a student
        for d in reversed(made):  # leave no empty folders behind that look like a dataset
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        into = f' into the folder you named ({how})' if how else ''
        raise DataNotFoundError(f'{name} was not found on this machine and the download{into} failed '
                                f'({type(e).__name__}: {e}).', name) from e
    finally:
        socket.setdefaulttimeout(old_timeout)
    return root / name / 'raw'


def load_split(name='FashionMNIST', split='train', root=None, download=True):
    """Return (images uint8 (N, 28, 28), labels int64 (N,), folder) of one split, checked."""
    if split not in SPLITS:
        raise ValueError(f'split must be "train" or "test", got {split!r}.')
    base, how = explicit_dir(root)
    if base is not None and not base.is_dir():
        raise DataNotFoundError(f'The data folder you named ({how}) does not exist: {base}. Check the spelling, '
                                f'or leave it out to use the usual places.', name)
    folder = locate(name, root)
    if folder is None and download:
        folder = _download(name, root)
    if folder is None:
        searched = '\n'.join(f'  - {d}' for d in _candidate_dirs(name, root))
        named = (f'The folder you named ({how}) does not hold the four IDX files of {name}, so nothing else '
                 f'was tried. ' if base is not None else '')
        raise DataNotFoundError(f'{named}{name} was not found. Folders searched:\n{searched}', name)
    images_stem, labels_stem, count = SPLITS[split]
    images_path, labels_path = _find(folder, images_stem), _find(folder, labels_stem)
    try:
        images, labels = read_idx(images_path), read_idx(labels_path)
    except DataUnreadableError:
        raise
    except DataNotFoundError as e:
        raise DataNotFoundError(f'{e}\nReplace the files.', name) from e
    problems = []
    if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        problems.append(f'{images_path} holds images of shape {tuple(images.shape)}, expected (N, 28, 28)')
    elif len(images) != count:
        problems.append(f'{images_path} holds {len(images)} images, expected {count}')
    if labels.dim() != 1 or len(labels) != count:
        problems.append(f'{labels_path} holds {tuple(labels.shape)} labels, expected ({count},)')
    elif int(labels.max()) > 9:
        problems.append(f'{labels_path} holds the label {int(labels.max())}, expected 0 to 9')
    if problems:
        raise DataNotFoundError('; '.join(problems) + '.\nReplace the files.', name)
    return images, labels.long(), folder


class ImageBatches:
    """Batches of (float images in [0, 1] of shape (B, 1, H, W), int64 labels) from uint8 in memory.

    Works like a DataLoader for the chapter's code: ``len()`` is the number of batches and it can be
    iterated again and again; a training iterator reshuffles at every pass.
    """

    def __init__(self, images, labels, batch_size, shuffle=False, resize=None, generator=None):
        resize = _check_loader_args(batch_size, resize)
        if len(images) != len(labels):
            raise ValueError(f'images and labels must be as many: {len(images)} images, {len(labels)} labels.')
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.resize = int(batch_size), shuffle, resize
        self.generator = generator

    def __len__(self):
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    @property
    def num_examples(self):
        return len(self.labels)

    @property
    def dataset(self):
        """The examples one by one, as (float image (1, 28, 28), int label), like a torchvision dataset."""
        return _Examples(self.images, self.labels)

    def to(self, device):
        """The same batches with the uint8 images and labels held on device (copied once), so they are indexed there."""
        moved = ImageBatches(self.images.to(device), self.labels.to(device), self.batch_size, self.shuffle,
                             self.resize, self.generator)
        moved.__dict__.update({k: v for k, v in self.__dict__.items() if k not in moved.__dict__})  # e.g. source
        return moved

    def _to_float(self, images):
        X = images.unsqueeze(1).float().div_(255)
        if self.resize is not None:
            import torchvision.transforms.v2.functional as F
            X = F.resize(X, list(self.resize), antialias=True)
        return X

    def __iter__(self):
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        if order is not None:
            order = order.to(self.labels.device)  # one copy per pass, not one per batch
        for start in range(0, n, self.batch_size):
            if order is None:
                idx = slice(start, start + self.batch_size)
            else:
                idx = order[start:start + self.batch_size]
            yield self._to_float(self.images[idx]), self.labels[idx]


class _Examples:
    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i].unsqueeze(0).float() / 255, int(self.labels[i])


SEED_RANGE = (0, 2**64 - 1)  # what torch.manual_seed takes (negative seeds are refused here: they alias others)


def check_seed(seed):
    """Return seed as an int, or raise ValueError unless it is a whole number torch can take (or None)."""
    if seed is None:
        return None
    low, high = SEED_RANGE
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not low <= seed <= high:
        raise ValueError(f'seed must be a whole number from {low} to 2**64 - 1 ({high}), or None; got {seed!r}.')
    return int(seed)


def _check_count(name, value, available):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f'{name} must be a whole number of at least 1 (or None for all), got {value!r}.')
    if value > available:
        raise ValueError(f'{name}={value} asks for more images than the {available:,} there are; '
                         f'use at most {available} (or None for all).')
    return int(value)


def _check_loader_args(batch_size, resize):
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f'batch_size must be a positive integer, got {batch_size!r}.')
    if resize is None:
        return None
    sizes = resize if isinstance(resize, (tuple, list)) else (resize, resize)
    if len(sizes) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f'resize must be a positive integer (or a pair of them) or None, got {resize!r}.')
    return tuple(sizes)


def load_data(name, batch_size, resize=None, root=None, download=True, seed=None,
              n_train=None, n_test=None):
    """Return (train_iter, test_iter) over a dataset held in memory as uint8."""
    resize = _check_loader_args(batch_size, resize)
    seed = check_seed(seed)
    n_train = _check_count('n_train', n_train, SPLITS['train'][2])
    n_test = _check_count('n_test', n_test, SPLITS['test'][2])
    if name not in DATASETS:
        raise ValueError(f'Unknown dataset {name!r}; choose one of {", ".join(DATASETS)}.')
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    iters = []
    for split, limit, shuffle in (('train', n_train, True), ('test', n_test, False)):
        images, labels, folder = load_split(name, split, root, download)
        if limit is not None:
            images, labels = images[:limit], labels[:limit]
        it = ImageBatches(images, labels, int(batch_size), shuffle, resize, generator)
        it.source = folder
        iters.append(it)
    return tuple(iters)


def load_data_fashion_mnist(batch_size, resize=None, *, root=None, download=True, seed=None,
                            n_train=None, n_test=None):
    """Return (train_iter, test_iter) for Fashion-MNIST, the chapter's call shape."""
    return load_data('FashionMNIST', batch_size, resize, root, download, seed, n_train, n_test)


def load_data_mnist(batch_size, resize=None, *, root=None, download=True, seed=None,
                    n_train=None, n_test=None):
    """Return (train_iter, test_iter) for the original MNIST digits, same shape as Fashion-MNIST."""
    return load_data('MNIST', batch_size, resize, root, download, seed, n_train, n_test)
