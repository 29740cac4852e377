"""Notebooks 05-08 follow the house contract: nbgrader metadata on every cell, exercises with solution markers
and autograded tests, reasons on every nbval exemption, small committed files."""
import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / 'notebooks'
NAMES = ['05_max_pooling.ipynb', '06_better_lenet.ipynb', '07_mnist.ipynb', '08_activations.ipynb']


@pytest.fixture(params=NAMES)
def nb(request):
    path = NOTEBOOKS / request.param
    return path, json.loads(path.read_text())


def test_every_cell_has_nbgrader_metadata_with_a_unique_id(nb):
    path, data = nb
    ids = []
    for cell in data['cells']:
        meta = cell['metadata'].get('nbgrader')
        assert meta and meta['schema_version'] == 3, f'{path.name}: a cell lacks nbgrader metadata'
        ids.append(meta['grade_id'])
        if meta['solution']:
            assert cell['cell_type'] == 'code' and not meta['locked'] and not meta['grade']
        elif meta['grade']:
            assert meta['locked'] and meta['points'] > 0 and cell['cell_type'] == 'code'
        else:
            assert meta['locked'] and not meta['task']
    assert len(ids) == len(set(ids)), f'{path.name}: grade_ids repeat'


def test_exercises_have_marked_solutions_followed_by_tests(nb):
    path, data = nb
    cells = data['cells']
    solutions = [i for i, c in enumerate(cells) if c['metadata']['nbgrader']['solution']]
    assert solutions, f'{path.name} has no exercise'
    for i in solutions:
        lines = [line.strip() for line in ''.join(cells[i]['source']).splitlines()]
        assert '### BEGIN SOLUTION' in lines and '### END SOLUTION' in lines
        following = cells[i + 1:i + 3]
        assert any(c['metadata']['nbgrader']['grade'] for c in following), f'{path.name}: no test after cell {i}'
        assert 'assert' in ''.join(next(c for c in following if c['metadata']['nbgrader']['grade'])['source'])


def test_nbval_exemptions_give_a_reason_and_code_cells_are_introduced(nb):
    path, data = nb
    cells = data['cells']
    for i, cell in enumerate(cells):
        if cell['cell_type'] != 'code':
            continue
        lines = ''.join(cell['source']).splitlines()
        if any('NBVAL' in line for line in lines):
            assert lines[0] == '# NBVAL_IGNORE_OUTPUT', f'{path.name}: the marker must be the whole first line'
            assert lines[1].startswith('# Not compared: ') and len(lines[1]) > 30, f'{path.name}: give a reason'
        meta = cell['metadata']['nbgrader']
        if not (meta['grade'] or meta['solution']) and i > 0:
            assert any(c['cell_type'] == 'markdown' for c in cells[max(0, i - 3):i]), f'{path.name} cell {i}'


def test_committed_notebooks_are_small_clean_and_use_the_python3_kernel(nb):
    path, data = nb
    assert data['metadata']['kernelspec']['name'] == 'python3'
    assert 'widgets' not in data['metadata'], 'run tools/run_notebooks.py: it strips the widget state'
    assert path.stat().st_size < 1_000_000
    for cell in data['cells']:
        for out in cell.get('outputs', []):
            assert 'image/svg+xml' not in out.get('data', {}), 'figures must be PNG (nbval compares SVG)'
            assert out.get('output_type') != 'error', f'{path.name} was committed with an error output'
