"""Helpers for learning LeNet from Dive into Deep Learning, call-compatible with the chapter."""
import os

# The chapter's interface and its plumbing
from .data import (DataNotFoundError, FASHION_MNIST_CLASSES, ImageBatches, MNIST_CLASSES,
                   get_text_labels, load_data_fashion_mnist, load_data_mnist, locate, read_idx)
from .models import (DesignError, MODELS, Reshape, build_lenet, count_params, get_model, layer_table, lenet,
                     lenet_plus)
from .plotting import Animator, plot, plot_history, set_axes, set_figsize, use_svg_display
from .runs import RunLog
from .timing import Timer
from .training import (Accumulator, History, accuracy, evaluate_accuracy_gpu, set_seed, train_ch6,
                       try_gpu, xavier_init)
# Notebooks 01-04: figures and controls
from .explore import (class_counts, confusion_matrix, draw_dataflow, misclassified, plot_class_balance,
                      plot_confusion_matrix, predict, prediction_titles, show_images)
from .explore import image_grid
from .convolution import ConvolutionExplorer
from . import style
from .widgets import ConfusionExplorer, DataBrowser, ShapeCalculator, TrainingPanel
# Notebooks 05-08: experiments, their controls, activations
from .experiments import (ABLATIONS, ablation_table, controlled_run, dataset_table, epochs_to_reach, initialise,
                          make_optimizer, plot_runs, results_table, run_ablation, try_mnist)
from .builder import ComparisonLab, DatasetLab, ModelBuilder, check_net, design_html
from .activations import (FeatureMapExplorer, block_outputs, class_mean_activations, load_checkpoint,
                          pick_example, plot_block_maps, plot_class_means, plot_kernels, save_checkpoint)

__version__ = '0.1.0'


def quick_mode():
    """True when LENET_QUICK is set to a non-empty value other than 0: notebooks then train briefly."""
    return os.environ.get('LENET_QUICK', '') not in ('', '0')
