"""Every committed notebook keeps the house rules: executed top to bottom, small, kernel python3, no saved
widget state, PNG figures, a reason on every nbval exemption; the exercise notebooks carry nbgrader metadata."""
import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / 'notebooks'
ALL = ['01_why_lenet.ipynb', '02_shape_inspection.ipynb', '03_fashion_mnist.ipynb', '04_training.ipynb',
       '05_max_pooling.ipynb', '06_better_lenet.ipynb', '07_mnist.ipynb', '08_activations.ipynb']
EXERCISES = ALL[4:]


def load(name):
    return json.loads((NOTEBOOKS / name).read_text())


def test_the_collection_is_complete():
    assert sorted(p.name for p in NOTEBOOKS.glob('0*.ipynb')) == ALL


@pytest.mark.parametrize('name', ALL)
def test_committed_small_clean_and_on_the_python3_kernel(name):
    data = load(name)
    assert data['metadata']['kernelspec']['name'] == 'python3'
    assert 'widgets' not in data['metadata'], 'run tools/run_notebooks.py: it strips the widget state'
    assert (NOTEBOOKS / name).stat().st_size < 1_000_000
    outputs = [o for c in data['cells'] if c['cell_type'] == 'code' for o in c['outputs']]
    assert not [o for o in outputs if 'image/svg+xml' in o.get('data', {})], 'figures must be PNG (nbval compares SVG)'
    assert not [o for o in outputs if o['output_type'] == 'error'], f'{name} was committed with an error output'


@pytest.mark.parametrize('name', ALL)
def test_executed_top_to_bottom(name):
    code = [c for c in load(name)['cells'] if c['cell_type'] == 'code']
    assert [c['execution_count'] for c in code] == list(range(1, len(code) + 1))


@pytest.mark.parametrize('name', ALL)
def test_exemptions_give_a_reason_and_code_cells_are_introduced(name):
    cells = load(name)['cells']
    for i, cell in enumerate(cells):
        if cell['cell_type'] != 'code':
            continue
        lines = ''.join(cell['source']).splitlines()
        if any('NBVAL' in line for line in lines):
            # nbval honours the marker only alone on the first line; the next line says why
            assert lines[0] == '# NBVAL_IGNORE_OUTPUT', f'{name} cell {i}: the marker must be the whole first line'
            assert lines[1].startswith('# Not compared: ') and len(lines[1]) > 30, f'{name} cell {i}: give a reason'
        grading = cell['metadata'].get('nbgrader', {})
        if i > 0 and not (grading.get('grade') or grading.get('solution')):
            assert any(c['cell_type'] == 'markdown' for c in cells[max(0, i - 3):i]), \
                f'{name} cell {i}: say why in a markdown cell before the code'


@pytest.mark.parametrize('name', EXERCISES)
def test_every_cell_has_nbgrader_metadata_with_a_unique_id(name):
    ids = []
    for cell in load(name)['cells']:
        meta = cell['metadata'].get('nbgrader')
        assert meta and meta['schema_version'] == 3, f'{name}: a cell lacks nbgrader metadata'
        ids.append(meta['grade_id'])
        if meta['solution']:
            assert cell['cell_type'] == 'code' and not meta['locked'] and not meta['grade']
        elif meta['grade']:
            assert meta['locked'] and meta['points'] > 0 and cell['cell_type'] == 'code'
        else:
            assert meta['locked'] and not meta['task']
    assert len(ids) == len(set(ids)), f'{name}: grade_ids repeat'


@pytest.mark.parametrize('name', EXERCISES)
def test_exercises_have_marked_solutions_followed_by_tests(name):
    cells = load(name)['cells']
    solutions = [i for i, c in enumerate(cells) if c['metadata']['nbgrader']['solution']]
    assert solutions, f'{name} has no exercise'
    for i in solutions:
        lines = [line.strip() for line in ''.join(cells[i]['source']).splitlines()]
        assert '### BEGIN SOLUTION' in lines and '### END SOLUTION' in lines
        following = cells[i + 1:i + 3]
        assert any(c['metadata']['nbgrader']['grade'] for c in following), f'{name}: no test after cell {i}'
        assert 'assert' in ''.join(next(c for c in following if c['metadata']['nbgrader']['grade'])['source'])
