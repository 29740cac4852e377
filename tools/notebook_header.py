"""Insert or update every notebook's header: an Open-in-Colab badge, the d2l section it teaches, the
Fashion-MNIST credit, and a first code cell that installs lenet_helpers on Colab or Kaggle only.

    python tools/notebook_header.py notebooks/*.ipynb

Idempotent: the header block in the first markdown cell sits between two HTML comments and the setup
cell carries the metadata key ``lenet_header``; running twice changes nothing. The repository slug
comes from pyproject.toml ([tool.lenet] repository, branch), the one place that names it. In exercise
notebooks (nbgrader metadata) the setup cell gets locked nbgrader lesson metadata. Re-execute the
notebooks afterwards (tools/run_notebooks.py): the new cell has no execution count yet.
"""
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
START, STOP = '<!-- lenet-header: written by tools/notebook_header.py -->', '<!-- /lenet-header -->'
D2L = 'https://d2l.ai/chapter_convolutional-neural-networks/lenet.html'
CLASSIC = 'https://classic.d2l.ai/chapter_convolutional-neural-networks/lenet.html'
FASHION = 'https://github.com/zalandoresearch/fashion-mnist'
# What each notebook teaches of the chapter (LeNet, section 7.6 of d2l.ai; 6.6 of the classic edition).
TEACHES = {
    '01': 'the chapter\'s story and its network',
    '02': 'the network\'s shapes, layer by layer',
    '03': 'the Fashion-MNIST data the chapter trains on',
    '04': 'training with the chapter\'s `train_ch6`',
    '05': 'exercise 1 (max instead of average pooling)',
    '06': 'exercise 2 (a better network based on LeNet)',
    '07': 'exercise 3 (the original MNIST)',
    '08': 'exercise 4 (the first and second layers\' activations)',
}
SETUP_TEMPLATE = '''\
# Colab and Kaggle only: install lenet_helpers from GitHub (elsewhere this cell does nothing).
import os
import sys

if 'google.colab' in sys.modules or 'KAGGLE_KERNEL_RUN_TYPE' in os.environ:
    import subprocess
    # Loose version ranges: the torch that Colab or Kaggle provides stays as it is.
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', {package!r}], check=True)
    if 'google.colab' in sys.modules:
        from google.colab import output
        output.enable_custom_widget_manager()  # ipywidgets 8 controls in Colab'''


def project():
    """(owner/name, branch) from pyproject.toml's [tool.lenet]."""
    tool = tomllib.loads((ROOT / 'pyproject.toml').read_text())['tool']['lenet']
    return tool['repository'], tool['branch']


def colab_url(notebook_name):
    repo, branch = project()
    return f'https://colab.research.google.com/github/{repo}/blob/{branch}/notebooks/{notebook_name}'


def colab_badge(notebook_name):
    return f'[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook_name)})'


def setup_source():
    repo, branch = project()
    return SETUP_TEMPLATE.format(package=f'lenet-helpers @ git+https://github.com/{repo}@{branch}')


def header_block(notebook_name, text=''):
    """The header for a notebook whose opening (outside the block) is text: the d2l link and the data
    credit are added only when the opening does not already give them."""
    teaches = TEACHES.get(notebook_name[:2], 'the LeNet chapter')
    d2l = '' if D2L in text else f'Teaches {teaches} of *Dive into Deep Learning*, [section 7.6 LeNet]({D2L}). '
    credit = '' if 'Zalando' in text else f'Data: [Fashion-MNIST]({FASHION}) by Zalando Research (MIT licence). '
    return '\n'.join([
        START,
        f'{colab_badge(notebook_name)} ',
        f'{d2l}The code follows the `train_ch6` call shapes of the [classic edition]({CLASSIC}) (section 6.6). '
        f'{credit}On Colab or Kaggle the first code cell installs `lenet_helpers`; anywhere else it does nothing.',
        STOP,
    ])


def _outside_block(text):
    if START in text and STOP in text:
        before, rest = text.split(START, 1)
        return before + rest.split(STOP, 1)[1]
    return text


def with_header(text, block):
    """The markdown text with its header block replaced, or appended when absent."""
    if START in text and STOP in text:
        before, rest = text.split(START, 1)
        after = rest.split(STOP, 1)[1]
        return before + block + after
    return text.rstrip('\n') + '\n\n' + block


def update(nb, notebook_name):
    """Insert or refresh the header in an nbformat notebook; return True when something changed."""
    before = nbformat.writes(nb)
    first_md = next(i for i, c in enumerate(nb.cells) if c.cell_type == 'markdown')
    text = nb.cells[first_md].source
    nb.cells[first_md].source = with_header(text, header_block(notebook_name, _outside_block(text)))
    graded = any('nbgrader' in c.metadata for c in nb.cells)
    setup = next((c for c in nb.cells if c.metadata.get('lenet_header') == 'setup'), None)
    if setup is None:
        setup = nbformat.v4.new_code_cell()
        nb.cells.insert(first_md + 1, setup)
    setup.source = setup_source()
    setup.metadata['lenet_header'] = 'setup'
    setup.metadata['tags'] = sorted(set(setup.metadata.get('tags', [])) | {'nbval-ignore-output'})
    setup.metadata['nbval_reason'] = 'prints pip\'s log on Colab and Kaggle only; elsewhere nothing'
    if graded:
        setup.metadata['nbgrader'] = {'grade': False, 'grade_id': 'lenet-colab-setup', 'locked': True,
                                      'schema_version': 3, 'solution': False, 'task': False}
    return nbformat.writes(nb) != before


def main(paths):
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        if update(nb, path.name):
            nbformat.write(nb, path)
            print(f'{path}: header updated (re-execute it with tools/run_notebooks.py)')
        else:
            print(f'{path}: header already up to date')


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
