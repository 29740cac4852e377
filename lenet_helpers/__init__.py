"""Helpers for learning LeNet from Dive into Deep Learning, call-compatible with the chapter.

Module map (imports point down this list's layers only):
data.py         find, check and serve the datasets
models.py       LeNet, the Design dataclass and build_lenet, shape tables
timing.py       the chapter's Timer
memory.py       keep freed memory for reuse while training (glibc's thresholds)
plotting.py     the chapter's plot helpers and Animator
training.py     train_ch6 and its helpers, with one progress/stop hook
recipes.py      optimizer, schedule, init: the Recipe dataclass
files.py        safe saving: destinations checked first, atomic JSON writes
runs.py         Run records and the RunLog: tables of runs, saved and merged as versioned JSON
experiments.py  seeded controlled runs, the lenet_plus ablation (`python -m lenet_helpers ablation`), MNIST probe
html.py         every table and message the controls and notebooks show
explore.py      figures and analyses the notebooks call
style.py        the shared figure style
convolution.py  the convolution explorer (notebook 01)
controls/       the notebooks' controls: one RunControl (worker thread, live curve, Stop) and the panels on it
activations.py  feature maps and kernels of a trained net (notebook 08)
snapshots.py    weight snapshots of a run, epoch by epoch
threads.py      how many CPU threads training uses
assign.py       student versions with nbgrader
cli.py          python -m lenet_helpers train | data | student | ablation
"""
import os

# The chapter's interface and its plumbing
from .data import (DataNotFoundError, DataUnreadableError, FASHION_MNIST_CLASSES, ImageBatches, MNIST_CLASSES,
                   get_fashion_mnist_labels, get_text_labels, load_data_fashion_mnist, load_data_mnist, locate,
                   read_idx)
from .models import (DesignError, MODELS, Reshape, build_lenet, check_design, count_params, get_model, layer_table,
                     lenet, lenet_plus)
from .plotting import Animator, plot, plot_history, set_axes, set_figsize, use_svg_display
from .runs import Run, RunFileError, RunLog
from .timing import Timer
from .training import (Accumulator, History, accuracy, evaluate_accuracy_gpu, set_seed, train_ch6,
                       try_gpu, xavier_init)
# Notebooks 01-04: figures and controls
from .explore import (class_counts, confusion_matrix, draw_dataflow, misclassified, plot_class_balance,
                      plot_confusion_matrix, predict, prediction_titles, show_images)
from .explore import image_grid
from .convolution import ConvolutionExplorer
from . import style
# Notebooks 05-08: experiments, their controls, activations
from .experiments import ABLATIONS, controlled_run, describe, epochs_to_reach, plot_runs, run_ablation, try_mnist
from .recipes import CHAPTER_RECIPE, PLUS_RECIPE, Recipe, initialise, make_optimizer
from .html import ablation_table, dataset_table, message_html, results_table
from .controls import (ComparisonLab, ConfusionExplorer, DataBrowser, DatasetLab, ModelBuilder, RunControl,
                       ShapeCalculator, TrainingPanel, check_net, design_html)
from .activations import (CheckpointError, FeatureMapExplorer, block_outputs, class_mean_activations,
                          checkpoint_path, load_checkpoint, load_trained, read_checkpoint,
                          pick_example, plot_block_maps, plot_class_means, plot_kernels, save_checkpoint)
from .snapshots import Snapshots

__version__ = '0.1.0'


QUICK_VALUES = {'1': True, 'true': True, 'yes': True, '0': False, 'false': False, 'no': False, '': False}


def quick_mode():
    """True when LENET_QUICK is 1, true or yes (any case): notebooks then train briefly. Unset, empty, 0, false
    or no mean full mode; anything else raises ValueError."""
    value = os.environ.get('LENET_QUICK', '')
    if value.strip().lower() not in QUICK_VALUES:
        raise ValueError(f'LENET_QUICK={value!r} is not understood: set it to 1 (or true, yes) for quick mode, '
                         f'0 (or false, no) or leave it unset for full mode.')
    return QUICK_VALUES[value.strip().lower()]
