"""The convolution explorer: PyTorch's arithmetic, 1-based positions, clear errors, a picture without a kernel."""
import base64

import matplotlib
import pytest
import torch
from torch import nn

from lenet_helpers import convolution as cv

matplotlib.use('Agg')


@pytest.mark.parametrize('padding,stride', [(0, 1), (1, 1), (2, 2), (1, 3)])
def test_every_window_sums_to_the_output_pixel_of_nn_conv2d(padding, stride):
    torch.manual_seed(0)
    image, conv = torch.rand(12, 12), nn.Conv2d(1, 1, 5, padding=padding, stride=stride)
    expected = conv(image[None, None])[0, 0].detach()
    kernel, bias = conv.weight[0, 0].detach(), float(conv.bias.detach())
    out = cv.convolve(image, kernel, bias, padding, stride)
    assert out.shape == expected.shape and torch.allclose(out, expected, atol=1e-6)
    n = cv.output_size(12, 5, padding, stride)
    assert n == expected.shape[-1]
    for row, col in [(1, 1), (n, n), (1, n), (n // 2 + 1, 2)]:
        win = cv.window(image, kernel, row, col, bias, padding, stride)
        assert win.value == pytest.approx(float(expected[row - 1, col - 1]), abs=1e-5)
        assert torch.allclose(win.products, win.pixels * kernel)


def test_parse_kernel_reads_rows_and_explains_bad_input():
    assert cv.parse_kernel('1 0 -1; 2,0,-2\n1 0 -1').tolist() == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    assert cv.parse_kernel('\n'.join(['1 1 1 1 1'] * 5)).shape == (5, 5)
    with pytest.raises(ValueError, match='3x3 or 5x5'):
        cv.parse_kernel('1 2; 3 4')
    with pytest.raises(ValueError, match='numbers only'):
        cv.parse_kernel('1 0 x; 1 0 1; 1 0 1')


def test_figure_shows_the_window_products_and_a_partly_filled_output():
    image = torch.zeros(8, 8)
    image[:, :4] = 1.0  # a vertical edge in the middle
    fig = cv.draw_convolution(image, torch.tensor(cv.KERNELS['vertical edge']), 2, 3, padding=1)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == 'input 8x8, padded to 10' and titles[4] == 'output 8x8, pixel (2, 3)'
    win = cv.window(image, torch.tensor(cv.KERNELS['vertical edge'], dtype=torch.float), 2, 3, padding=1)
    assert f'sum = {win.value:.2f}' in titles[3]
    shown = fig.axes[4].images[0].get_array()
    assert shown.count() == 8 + 3  # row 1 and three pixels of row 2 computed, the rest not yet
    assert len(fig.axes[3].texts) == 9


def test_explorer_moves_in_one_based_positions_and_refuses_a_bad_kernel_kindly():
    image = torch.randint(0, 255, (28, 28), dtype=torch.uint8)
    explorer = cv.ConvolutionExplorer({'a': image}, padding=0, stride=2)
    assert explorer.step.max == 13 * 13
    explorer.step.value = 14
    assert explorer.position() == (2, 1)
    before = explorer.picture.value
    explorer.kernel_choice.value = explorer.CUSTOM
    explorer.custom.value = '1 2 3'
    assert 'Kernel not used' in explorer.message.value and explorer.picture.value is not None
    explorer.custom.value = '\n'.join(['0 0 0 0 1'] * 5)
    assert explorer.step.max == 12 * 12 and explorer.picture.value != before
    bundle = explorer._repr_mimebundle_()
    assert 'application/vnd.jupyter.widget-view+json' in bundle
    assert base64.b64decode(bundle['image/png']).startswith(b'\x89PNG')
    assert 'VBox' not in bundle['text/plain']


def test_trained_kernels_come_with_their_bias():
    conv = nn.Conv2d(1, 6, 5, padding=2)
    kernels = {f'channel {c + 1}': (conv.weight[c, 0].detach(), float(conv.bias[c])) for c in range(6)}
    explorer = cv.ConvolutionExplorer({'a': torch.rand(28, 28)}, kernels, padding=2)
    kernel, bias, name = explorer.current_kernel()
    assert name == 'channel 1' and bias == pytest.approx(float(conv.bias[0])) and kernel.shape == (5, 5)
    assert explorer.position() == (15, 15)  # starts at the centre, the output map half filled in
