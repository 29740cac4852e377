"""Make the data folder `make test` points LENET_DATA_DIR at: the real Fashion-MNIST (links) and generated MNIST.

    python tools/make_test_data.py DIR

Original MNIST has no offline source, so the notebooks' MNIST path (07) runs in the tests on full-size IDX
files of random images written here (tests/conftest.py's make_idx_dataset); their accuracies mean nothing,
the path is what is tested. A folder named by LENET_DATA_DIR is the only place the loader looks, so the real
Fashion-MNIST is linked in beside it.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests'))

from conftest import make_idx_dataset  # noqa: E402  (the tests' own IDX writer)
from lenet_helpers import data  # noqa: E402


def main(dest):
    dest = Path(dest)
    make_idx_dataset(dest / 'MNIST' / 'raw', gz=True)
    fashion = dest / 'FashionMNIST' / 'raw'
    fashion.mkdir(parents=True, exist_ok=True)
    source = Path(data.locate('FashionMNIST'))
    for split in data.SPLITS.values():
        for stem in split[:2]:  # the images and labels files, .gz or not
            path = Path(data._find(source, stem))
            (fashion / path.name).symlink_to(path.resolve())
    print(f'test data in {dest}: generated MNIST, Fashion-MNIST linked from {source}')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
