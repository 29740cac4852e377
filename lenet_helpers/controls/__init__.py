"""The notebooks' controls. Each is shown by display(control) or as a cell's last expression.

base.py       Control: the display convention and the static snapshot shown without a kernel
runner.py     RunControl: one run in a worker thread, live curve, progress line, Stop
panels.py     TrainingPanel (04), ComparisonLab (05), DatasetLab (07), on one RunControl each
builder.py    ModelBuilder (06): design controls, shape table, leaderboard file
explorers.py  ShapeCalculator (02), DataBrowser (03), ConfusionExplorer (04): no training
"""
from .base import Control
from .builder import ModelBuilder, check_net, design_from_controls, design_html
from .explorers import ConfusionExplorer, DataBrowser, ShapeCalculator
from .panels import LEARNING_RATES, ComparisonLab, DatasetLab, TrainingPanel, lr_slider
from .runner import RunControl
