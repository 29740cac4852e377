"""Measure notebook 06's ablation (lenet_plus with one change undone at a time) and save it as a RunLog JSON.

    OMP_NUM_THREADS=1 python tools/measure_ablation.py --epochs 2 --out notebooks/results/ablation.json
"""
import sys

from lenet_helpers.experiments import main

if __name__ == '__main__':
    sys.exit(main())
