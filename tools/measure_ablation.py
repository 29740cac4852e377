"""Measure notebook 06's ablation; the same as `python -m lenet_helpers ablation ...`.

    python tools/measure_ablation.py --epochs 2 --threads 2 --out notebooks/results/ablation.json
"""
import sys

from lenet_helpers.cli import main

if __name__ == '__main__':
    sys.exit(main(['ablation'] + sys.argv[1:]))
