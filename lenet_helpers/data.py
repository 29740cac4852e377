"""Fashion-MNIST and MNIST, found offline first, decoded once, served as batches from memory."""
import gzip
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
IDX_MAGIC = {3: 2051, 1: 2049}  # number of dimensions -> magic number (unsigned byte data)


class DataNotFoundError(FileNotFoundError):
    """The dataset's files are missing or damaged; the message says how to get them."""


def get_text_labels(labels, classes=FASHION_MNIST_CLASSES):
    """Return the class names of numeric labels."""
    return [classes[int(i)] for i in labels]


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


def read_idx(path):
    """Read one IDX file (optionally gzipped) into a uint8 tensor, checking its header and size."""
    path = Path(path)
    opener = gzip.open if path.suffix == '.gz' else open
    try:
        with opener(path, 'rb') as f:
            data = f.read()
    except (OSError, EOFError) as e:  # truncated gzip streams raise EOFError
        raise DataNotFoundError(f'{path} could not be read ({e}); the file is damaged.') from e
    if len(data) < 8:
        raise DataNotFoundError(f'{path} is too short to be an IDX file ({len(data)} bytes).')
    magic = int.from_bytes(data[:4], 'big')
    ndim = data[3]
    if ndim not in IDX_MAGIC or magic != IDX_MAGIC[ndim]:
        raise DataNotFoundError(f'{path} is not an IDX file of unsigned bytes '
                                f'(magic number {magic}, expected 2049 or 2051).')
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


def _candidate_dirs(name, root):
    """The folders searched, in order: explicit root, $LENET_DATA_DIR, project data/, system package."""
    dirs = []
    for base in (root, os.environ.get('LENET_DATA_DIR'), PROJECT_DATA_DIR):
        if base:
            base = Path(base).expanduser()
            dirs += [base / name, base]
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
    root = Path(root or os.environ.get('LENET_DATA_DIR') or PROJECT_DATA_DIR).expanduser()
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
        raise DataNotFoundError(f'{name} was not found on this machine and the download failed '
                                f'({type(e).__name__}: {e}).\n{_how_to_get(name)}') from e
    finally:
        socket.setdefaulttimeout(old_timeout)
    return root / name / 'raw'


def load_split(name='FashionMNIST', split='train', root=None, download=True):
    """Return (images uint8 (N, 28, 28), labels int64 (N,), folder) of one split, checked."""
    folder = locate(name, root)
    if folder is None and download:
        folder = _download(name, root)
    if folder is None:
        searched = '\n'.join(f'  - {d}' for d in _candidate_dirs(name, root))
        raise DataNotFoundError(f'{name} was not found. Folders searched:\n{searched}\n'
                                f'{_how_to_get(name)}')
    images_stem, labels_stem, count = SPLITS[split]
    images_path, labels_path = _find(folder, images_stem), _find(folder, labels_stem)
    advice = f'Replace the files.\n{_how_to_get(name)}'
    try:
        images, labels = read_idx(images_path), read_idx(labels_path)
    except DataNotFoundError as e:
        raise DataNotFoundError(f'{e}\n{advice}') from e
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
        raise DataNotFoundError('; '.join(problems) + f'.\n{advice}')
    return images, labels.long(), folder


class ImageBatches:
    """Batches of (float images in [0, 1] of shape (B, 1, H, W), int64 labels) from uint8 in memory.

    Works like a DataLoader for the chapter's code: ``len()`` is the number of batches and it can be
    iterated again and again; a training iterator reshuffles at every pass.
    """

    def __init__(self, images, labels, batch_size, shuffle=False, resize=None, generator=None):
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.resize = batch_size, shuffle, resize
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


def _check_loader_args(batch_size, resize):
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
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
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    iters = []
    for split, limit, shuffle in (('train', n_train, True), ('test', n_test, False)):
        images, labels, folder = load_split(name, split, root, download)
        if limit is not None:
            images, labels = images[:limit], labels[:limit]
        it = ImageBatches(images, labels, batch_size, shuffle, resize, generator)
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
