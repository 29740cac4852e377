"""A convolution explorer (notebook 01): slide a kernel over a real image and watch one output pixel form.

The arithmetic is PyTorch's own (``conv2d`` is a cross-correlation: the kernel is not flipped); the
figure shows, for one window position, the pixels under the window, the kernel, their products and the
sum that becomes one output pixel, and the output map filled in up to that position. Positions, rows
and columns are counted from 1 (style.py).
"""
import base64
import io
import re
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.patches import Rectangle

from . import style

KERNELS = {
    'vertical edge': [[1, 0, -1], [2, 0, -2], [1, 0, -1]],    # Sobel: bright left, dark right
    'horizontal edge': [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],  # Sobel: bright above, dark below
    'blur': [[1 / 9] * 3] * 3,                                 # the mean of the 3x3 neighbourhood
    'sharpen': [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    'outline': [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],      # a Laplacian: zero on flat patches
}


def parse_kernel(text):
    """A square kernel from text: rows on lines (or separated by ';'), numbers by spaces or commas.

    Raises ValueError with a message saying what to type when the text is not a 3x3 or 5x5 grid.
    """
    rows = [r for r in re.split(r'[;\n]', text.strip()) if r.strip()]
    try:
        grid = [[float(v) for v in re.split(r'[,\s]+', r.strip())] for r in rows]
    except ValueError:
        raise ValueError('Type numbers only, e.g. "1 0 -1; 2 0 -2; 1 0 -1" (rows separated by ";" or new '
                         'lines, numbers by spaces or commas).') from None
    size = len(grid)
    if size not in (3, 5) or any(len(r) != size for r in grid):
        shape = ' x '.join(str(len(r)) for r in grid) or 'nothing'
        raise ValueError(f'A kernel here is 3x3 or 5x5: 3 or 5 rows of as many numbers each (got rows of '
                         f'{shape}).')
    return torch.tensor(grid)


def output_size(n, k, padding=0, stride=1):
    """Output size along one axis: floor((n + 2 * padding - k) / stride) + 1."""
    return (n + 2 * padding - k) // stride + 1


def convolve(image, kernel, bias=0.0, padding=0, stride=1):
    """The output map of one kernel over one image (H, W), exactly as nn.Conv2d computes it."""
    out = F.conv2d(image.float()[None, None], kernel.float()[None, None], torch.tensor([float(bias)]),
                   stride=stride, padding=padding)
    return out[0, 0]


@dataclass
class Window:
    """One window position: the pixels under it, the products with the kernel and their sum."""
    row: int               # output row, from 1
    col: int               # output column, from 1
    top: int               # first padded-input row under the window, from 0 (for drawing)
    left: int              # first padded-input column under the window, from 0
    pixels: torch.Tensor   # (k, k) pixel values under the window (0 where it covers padding)
    products: torch.Tensor  # pixels * kernel, element by element
    value: float           # products.sum() + bias: the output pixel


def window(image, kernel, row, col, bias=0.0, padding=0, stride=1):
    """The window that produces output pixel (row, col), both counted from 1."""
    k = kernel.shape[-1]
    padded = F.pad(image.float(), (padding,) * 4)
    top, left = (row - 1) * stride, (col - 1) * stride
    pixels = padded[top:top + k, left:left + k]
    products = pixels * kernel.float()
    return Window(row, col, top, left, pixels, products, float(products.sum()) + float(bias))


def _grid(ax, values, title, cmap, limits, decimals):
    ax.imshow(values.numpy(), cmap=cmap, vmin=limits[0], vmax=limits[1])
    norm = plt.Normalize(*limits)
    colormap = plt.get_cmap(cmap)
    for (i, j), v in zip(((i, j) for i in range(values.shape[0]) for j in range(values.shape[1])),
                         values.flatten().tolist()):
        text = f'{v:.{decimals}f}'
        ax.text(j, i, text if float(text) else text.lstrip('-'), ha='center', va='center', fontsize=style.MIN_FONT,
                color=style.text_colour(colormap(norm(v))))
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title(title, fontsize=style.FONT)


def draw_convolution(image, kernel, row, col, bias=0.0, padding=0, stride=1, kernel_name='kernel'):
    """Five panels: the padded input with the window, the pixels under it, the kernel, the products
    (their sum is the output pixel) and the output map filled in up to (row, col), counted from 1."""
    image = image.float()
    if float(image.max()) > 1:
        image = image / 255
    kernel = kernel.float()
    out = convolve(image, kernel, bias, padding, stride)
    n_out = out.shape[-1]
    win = window(image, kernel, row, col, bias, padding, stride)
    k = kernel.shape[-1]
    decimals = 2 if k == 3 else 1
    fig, axes = style.figure(10, 2.9, 1, 5, gridspec_kw={'width_ratios': [1.25, 1, 1, 1, 1.25]})
    with style.apply():
        ax = axes[0]
        padded = F.pad(image, (padding,) * 4)
        style.show_image(ax, padded, vmax=1.0)
        for spine in ax.spines.values():
            spine.set_visible(True)
        if padding:  # hatch the zeros added around the image
            n, p = padded.shape[-1], padding
            for x, y, w, h in ((0, 0, n, p), (0, n - p, n, p), (0, p, p, n - 2 * p), (n - p, p, p, n - 2 * p)):
                ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, hatch='////',
                                       edgecolor='0.7', lw=0))
        ax.add_patch(Rectangle((win.left - 0.5, win.top - 0.5), k, k, fill=False,
                               edgecolor=style.OKABE_ITO[1], lw=2))
        size = image.shape[-1]
        ax.set_title(f'input {size}x{size}' + (f', padded to {size + 2 * padding}' if padding else ''),
                     fontsize=style.FONT)
        _grid(axes[1], win.pixels, 'pixels under the window', style.IMAGE_CMAP, (0, 1), decimals)
        limits = style.signed_limits(kernel)
        _grid(axes[2], kernel, f'\u00d7 {kernel_name}', style.DIVERGING_CMAP, limits, decimals)
        _grid(axes[3], win.products, f'= products\nsum{" + bias" if bias else ""} = {win.value:.2f}',
              style.DIVERGING_CMAP, style.signed_limits(torch.cat([win.products.flatten(), kernel.flatten()])),
              decimals)
        shown = torch.full_like(out, float('nan'))
        done = (row - 1) * n_out + col  # output pixels computed so far, in reading order
        shown.view(-1)[:done] = out.view(-1)[:done]
        cmap = plt.get_cmap(style.DIVERGING_CMAP).with_extremes(bad='0.92')
        lo, hi = style.signed_limits(out)
        axes[4].imshow(shown.numpy(), cmap=cmap, vmin=lo, vmax=hi)
        axes[4].add_patch(Rectangle((col - 1.5, row - 1.5), 1, 1, fill=False, edgecolor=style.OKABE_ITO[1], lw=2))
        axes[4].set_xticks([]), axes[4].set_yticks([])
        axes[4].set_title(f'output {n_out}x{n_out}, pixel ({row}, {col})', fontsize=style.FONT)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.8, wspace=0.08)
    return fig


class ConvolutionExplorer:
    """Pick an image and a kernel (or type one), set padding and stride, and move the window.

    ``images`` maps names to (H, W) images (floats in [0, 1] or bytes); ``kernels`` maps names to
    kernels, or to (kernel, bias) pairs such as a trained LeNet's first-layer channels. Show it by
    ending a cell with it or with ``display(explorer)``; without a kernel the saved output is a
    picture of the figure as it was when the cell ran.
    """
    CUSTOM = 'type your own'

    def __init__(self, images, kernels=None, kernel=None, padding=1, stride=1):
        import ipywidgets as widgets
        self.images = {name: (img.float() / 255 if img.dtype == torch.uint8 else img.float())
                       for name, img in images.items()}
        self.kernels = dict(KERNELS if kernels is None else kernels)
        names = list(self.kernels) + [self.CUSTOM]
        wide = {'description_width': '70px'}
        self.image_choice = widgets.Dropdown(options=list(self.images), description='image', style=wide)
        self.kernel_choice = widgets.Dropdown(options=names, value=kernel or names[0], description='kernel',
                                              style=wide)
        self.custom = widgets.Textarea(value='1 0 -1\n2 0 -2\n1 0 -1', description='your 3x3 or 5x5',
                                       rows=5, style={'description_width': '110px'},
                                       layout=widgets.Layout(width='300px', display='none'))
        self.padding = widgets.IntSlider(value=padding, min=0, max=2, description='padding', style=wide,
                                         continuous_update=False)
        self.stride = widgets.IntSlider(value=stride, min=1, max=3, description='stride', style=wide,
                                        continuous_update=False)
        self.step = widgets.IntSlider(value=1, min=1, max=1, description='position', style=wide,
                                      layout=widgets.Layout(width='420px'))
        self.play = widgets.Play(value=1, min=1, max=1, interval=700, description='slide the window')
        widgets.jslink((self.play, 'value'), (self.step, 'value'))
        self.message = widgets.HTML()
        self.picture = widgets.Image(format='png')
        for w in (self.image_choice, self.kernel_choice, self.custom, self.padding, self.stride):
            w.observe(self._settings_changed, 'value')
        self._moving = False
        self.step.observe(lambda change: None if self._moving else self.redraw(), 'value')
        self.view = widgets.VBox([
            widgets.HBox([widgets.VBox([self.image_choice, self.kernel_choice]),
                          widgets.VBox([self.padding, self.stride]), self.custom]),
            widgets.HBox([self.play, self.step]), self.message, self.picture])
        self._settings_changed()

    def current_kernel(self):
        """(kernel, bias, name) of the current choice; ValueError when the typed kernel is not valid."""
        name = self.kernel_choice.value
        if name == self.CUSTOM:
            return parse_kernel(self.custom.value), 0.0, 'your kernel'
        kernel = self.kernels[name]
        kernel, bias = kernel if isinstance(kernel, tuple) else (kernel, 0.0)
        return torch.as_tensor(kernel, dtype=torch.float32, device='cpu').detach(), float(bias), name  # from a GPU too

    def positions(self):
        """The output size along one axis for the current settings."""
        kernel, _, _ = self.current_kernel()
        n = self.images[self.image_choice.value].shape[-1]
        return output_size(n, kernel.shape[-1], self.padding.value, self.stride.value)

    def position(self):
        """The (row, col) of the current window, counted from 1."""
        n = self.positions()
        return (self.step.value - 1) // n + 1, (self.step.value - 1) % n + 1

    def _settings_changed(self, change=None):
        self.custom.layout.display = None if self.kernel_choice.value == self.CUSTOM else 'none'
        try:
            n = self.positions()
        except ValueError as e:
            self.message.value = f'<span style="color:#D55E00"><b>Kernel not used:</b> {e}</span>'
            return
        if n < 1:
            self.message.value = '<span style="color:#D55E00">The kernel does not fit in the image.</span>'
            return
        if self.step.max == 1:  # a new explorer starts at the centre: the output map half filled in
            value = (n // 2) * n + n // 2 + 1
        else:  # keep the window's place, as a fraction of the way through, when the output size changes
            value = round((self.step.value - 1) / (self.step.max - 1) * (n * n - 1)) + 1
        self._moving = True  # one redraw below, not one per trait change
        self.play.max = self.step.max = n * n
        self.step.value = value
        self._moving = False
        self.redraw()

    def redraw(self):
        """Draw the figure for the current settings into the control."""
        try:
            kernel, bias, name = self.current_kernel()
        except ValueError as e:
            self.message.value = f'<span style="color:#D55E00"><b>Kernel not used:</b> {e}</span>'
            return
        row, col = self.position()
        n = self.positions()
        self.message.value = (f'Output pixel ({row}, {col}) of {n}x{n}: the window starts at input row '
                              f'{(row - 1) * self.stride.value + 1}, column {(col - 1) * self.stride.value + 1} '
                              f'of the padded image. Press play, or drag <i>position</i>.')
        fig = draw_convolution(self.images[self.image_choice.value], kernel, row, col, bias,
                               self.padding.value, self.stride.value, name)
        buf = io.BytesIO()
        fig.savefig(buf, format='png', dpi=fig.dpi)  # fixed layout: no tight bbox, twice as fast
        plt.close(fig)
        self.picture.value = buf.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = self.view._repr_mimebundle_()
        data['image/png'] = base64.b64encode(self.picture.value).decode('ascii')
        data['text/plain'] = f'{type(self).__name__}: run the notebook in Jupyter to use this control.'
        return data
