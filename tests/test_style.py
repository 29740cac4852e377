"""The one visual language: distinguishable curves, dark-on-white images, no global side effects."""
import subprocess
import sys

import matplotlib
import matplotlib.pyplot as plt
import pytest

from lenet_helpers import style

matplotlib.use('Agg')


def test_every_compared_curve_has_its_own_colour_marker_and_line_style():
    styles = [style.curve_style(i) for i in range(len(style.OKABE_ITO))]
    for key in ('color', 'marker', 'linestyle'):
        assert len({str(s[key]) for s in styles}) == len(styles), key
    assert style.curve_style(len(style.OKABE_ITO)) == style.curve_style(0)  # cycles, never fails


def test_apply_is_scoped_and_importing_changes_nothing_global():
    before = plt.rcParams['font.size'], plt.rcParams['figure.dpi']
    with style.apply():
        assert plt.rcParams['figure.dpi'] == style.DPI and plt.rcParams['image.cmap'] == 'gray_r'
    assert (plt.rcParams['font.size'], plt.rcParams['figure.dpi']) == before
    code = ('import matplotlib as mpl; a = dict(mpl.rcParams); import lenet_helpers; '
            'b = dict(mpl.rcParams); print(sorted(k for k in a if str(a[k]) != str(b[k])))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]', out.stdout


def test_figure_caps_the_width_so_the_png_is_shown_one_to_one():
    fig, ax = style.figure(15, 3)
    assert tuple(fig.get_size_inches()) == pytest.approx((style.MAX_WIDTH, 2.0)) and fig.dpi == style.DPI
    plt.close(fig)


def test_text_colour_follows_the_background_brightness():
    assert style.text_colour('white') == 'black' and style.text_colour('#08306b') == 'white'
    assert style.text_colour(plt.get_cmap(style.SEQUENTIAL_CMAP)(1.0)) == 'white'


def test_signed_limits_are_symmetric_and_numbering_is_one_based():
    import torch
    assert style.signed_limits(torch.tensor([-0.2, 0.5])) == (-0.5, 0.5)
    assert style.signed_limits(torch.zeros(3)) == (-1.0, 1.0)
    assert (style.layer_label(0), style.channel_label(5), style.epoch_label(9)) == ('layer 1', 'channel 6',
                                                                                    'epoch 10')


def test_apply_keeps_what_the_backend_switches_on_inside_the_block():
    was = matplotlib.is_interactive()
    try:
        matplotlib.interactive(False)
        with style.apply():
            matplotlib.interactive(True)  # what loading the notebook's inline backend does
        assert matplotlib.is_interactive(), 'figures after the first would no longer be shown in a notebook'
    finally:
        matplotlib.interactive(was)
