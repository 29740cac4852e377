"""One visual language for every figure: greyscale images, colour-blind-safe curves, readable text.

Conventions (every figure in the package and the notebooks follows them):

* **Images** are drawn dark ink on white (``IMAGE_CMAP = 'gray_r'``: pixel value 0 is white, 1 is
  black), the way Fashion-MNIST's garments look on paper.
* **Signed values** (kernels, differences) use a diverging, colour-blind-safe map (``DIVERGING_CMAP``)
  centred on zero with a symmetric range (``signed_limits``).
* **Compared curves** take their colour from the Okabe-Ito palette AND have their own marker and line
  style (``curve_style(i)``), so they stay distinguishable without colour and in greyscale print.
* **Text** is at least 9 pt at the size the figure is shown: figures are rendered at ``DPI = 96``, the
  pixel density browsers assume, so a PNG shown 1:1 (JupyterLab does, up to the output width) has
  its text at the point size it was set in. Keep figures at most ``MAX_WIDTH`` inches wide.
* **Numbering** is 1-based everywhere a person reads it: layer 1, channel 1, epoch 1
  (``layer_label``, ``channel_label``, ``epoch_label``); code indices stay 0-based.

Importing this module changes nothing global: ``apply()`` is a context manager used around figure
creation that restores the caller's own settings afterwards.
"""
from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt

IMAGE_CMAP = 'gray_r'        # dark ink on white for every greyscale image
DIVERGING_CMAP = 'PuOr_r'    # ColorBrewer purple-orange: diverging and colour-blind safe
SEQUENTIAL_CMAP = 'Blues'    # counts and magnitudes: one hue, light to dark, colour-blind safe
DPI = 96                     # 1 pt of text = 1 pt on screen when the PNG is shown 1:1
MAX_WIDTH = 10.0             # inches: 960 px fits JupyterLab's output area at a 1280-px window
MIN_FONT = 9                 # points: the smallest text any figure uses
FONT = 10                    # points: body text, tick labels, legends

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Yellow (#F0E442) is left out: too pale for lines on white.
OKABE_ITO = ('#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000')
MARKERS = ('o', 's', '^', 'D', 'v', 'P', 'X')
LINESTYLES = ('-', '--', '-.', ':', (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)))

RC = {
    'figure.dpi': DPI, 'savefig.dpi': DPI, 'figure.facecolor': 'white', 'savefig.facecolor': 'white',
    'font.size': FONT, 'axes.titlesize': FONT + 1, 'axes.labelsize': FONT,
    'xtick.labelsize': MIN_FONT, 'ytick.labelsize': MIN_FONT, 'legend.fontsize': MIN_FONT,
    'figure.titlesize': FONT + 2, 'image.cmap': IMAGE_CMAP, 'axes.grid': False,
    'grid.alpha': 0.4, 'lines.linewidth': 1.8, 'lines.markersize': 5,
    'axes.prop_cycle': mpl.cycler(color=OKABE_ITO),
}


@contextmanager
def apply():
    """Use the house style for the figures created inside this block; restores the keys it set.

    Unlike ``matplotlib.rc_context`` it restores only its own keys: a first figure created inside the
    block loads the notebook's backend, which switches interactive mode on, and that must survive.
    """
    saved = {key: mpl.rcParams[key] for key in RC}
    mpl.rcParams.update(RC)
    try:
        yield
    finally:
        mpl.rcParams.update(saved)


def curve_style(i):
    """Colour, marker and line style of the i-th compared curve (0-based), for ``ax.plot(**style)``."""
    return {'color': OKABE_ITO[i % len(OKABE_ITO)], 'marker': MARKERS[i % len(MARKERS)],
            'linestyle': LINESTYLES[i % len(LINESTYLES)]}


def markevery(n_points, marks=8):
    """A ``markevery`` value that puts about ``marks`` markers on a curve of n_points points."""
    return max(1, n_points // marks)


def figure(width, height, nrows=1, ncols=1, **kw):
    """``plt.subplots`` in the house style; width is capped at MAX_WIDTH so the PNG is shown 1:1."""
    if width > MAX_WIDTH:
        width, height = MAX_WIDTH, height * MAX_WIDTH / width
    with apply():
        return plt.subplots(nrows, ncols, figsize=(width, height), dpi=DPI, **kw)


def show_image(ax, image, title=None, vmin=0.0, vmax=None):
    """Draw one greyscale image dark-on-white without ticks; vmax defaults to 1 (or 255 for bytes)."""
    image = image.detach().cpu().float().numpy() if hasattr(image, 'detach') else image
    if vmax is None:
        vmax = 255.0 if float(image.max()) > 1.0 else 1.0
    ax.imshow(image, cmap=IMAGE_CMAP, vmin=vmin, vmax=vmax)
    ax.set_xticks([]), ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title is not None:
        ax.set_title(title, fontsize=MIN_FONT)


def signed_limits(values):
    """(vmin, vmax) symmetric around zero, so the diverging map's middle colour means exactly 0."""
    m = float(abs(values).max()) if hasattr(values, 'max') else max(abs(v) for v in values)
    m = m or 1.0
    return -m, m


def text_colour(rgba):
    """Black or white, whichever reads better on a background colour (by its relative luminance)."""
    r, g, b = mpl.colors.to_rgb(rgba)
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 'black' if lum > 0.45 else 'white'


def layer_label(i):
    """'layer 1' for index 0: layers are counted from 1 in every figure, control and sentence."""
    return f'layer {i + 1}'


def channel_label(i):
    """'channel 1' for index 0: channels are counted from 1."""
    return f'channel {i + 1}'


def epoch_label(i):
    """'epoch 1' for index 0: epochs are counted from 1 (History.epoch already holds 1, 2, ...)."""
    return f'epoch {i + 1}'
