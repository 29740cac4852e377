"""Every committed notebook keeps the house rules (NOTEBOOK_RULES.md says them in prose):

* executed top to bottom, small, kernel python3, no saved widget state, PNG figures, no error outputs;
* nbval markers are cell TAGS (``nbval-ignore-output``, ``nbval-skip``) with the reason in the cell
  metadata key ``nbval_reason``; no ``NBVAL`` text in any code cell;
* student-first: every worked answer sits under a visible "Solution" heading, collapsed, after the
  exercise's editable cell (rule in ``solution_blocks``);
* numbers typed in markdown appear in the notebook's outputs or code, or are cited (``prose_numbers``);
* no absolute local paths in outputs;
* each notebook opens with objectives, prerequisites, a time estimate of at most 45 minutes and a link
  to the d2l section it follows, and closes with "What you learned";
* the exercise notebooks (05-08) carry nbgrader metadata.
"""
import io
import json
import re
import tokenize
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / 'notebooks'
ALL = ['01_why_lenet.ipynb', '02_shape_inspection.ipynb', '03_fashion_mnist.ipynb', '04_training.ipynb',
       '05_max_pooling.ipynb', '06_better_lenet.ipynb', '07_mnist.ipynb', '08_activations.ipynb']
EXERCISES = ALL[4:]
NBVAL_TAGS = {'nbval-ignore-output', 'nbval-skip', 'nbval-check-output', 'nbval-raises-exception'}


def load(name):
    return json.loads((NOTEBOOKS / name).read_text())


def source(cell):
    return ''.join(cell['source'])


def heading(cell):
    """The text of a markdown cell's first line when it is a heading ('## Solution' -> 'Solution')."""
    if cell['cell_type'] != 'markdown':
        return None
    first = source(cell).lstrip().split('\n', 1)[0]
    match = re.match(r'#+\s+(.*)', first)
    return match.group(1).strip() if match else None


def hidden(cell):
    """(source hidden, outputs hidden) as JupyterLab stores a collapsed cell."""
    meta = cell['metadata'].get('jupyter', {})
    return bool(meta.get('source_hidden')), bool(meta.get('outputs_hidden'))


# ---------------------------------------------------------------------------------------------------
# The solution rule
# ---------------------------------------------------------------------------------------------------
EXERCISE = re.compile(r'(exercise|your turn|predict|try it)\b', re.I)
SOLUTION = re.compile(r'(solution|hint \d|answer)', re.I)


def solution_blocks(cells):
    """Check the student-first rule; return a list of problems (empty when the notebook keeps it).

    Rule:
    1. A *solution heading* is a markdown cell whose first line is a heading starting with "Solution",
       "Hint N" or "Answer" (e.g. ``### Solution: open it after you have tried``). It stays visible.
    2. Its *block* is every cell after it up to the next markdown heading cell. The block is not empty,
       and every cell in it is collapsed: ``metadata.jupyter.source_hidden`` true and, for code cells,
       ``outputs_hidden`` true as well.
    3. Before the heading there is an *exercise*: a markdown heading starting with "Exercise",
       "Your turn", "Predict" or "Try it", and between that exercise heading and the solution heading
       at least one visible code cell: the *editable cell* where the student works. In the nbgrader
       notebooks (05-08) that cell is the one marked ``nbgrader.solution`` (it holds ``### BEGIN
       SOLUTION`` in the instructor version and ``raise NotImplementedError()`` in the student version,
       so it is never collapsed itself).
    4. Short answers may instead sit in a ``<details>`` element inside the exercise's markdown, which
       JupyterLab also shows collapsed; they need no heading.
    """
    problems = []
    headings = [(i, heading(c)) for i, c in enumerate(cells) if heading(c) is not None]
    for n, (i, text) in enumerate(headings):
        if not SOLUTION.match(text):
            continue
        if any(hidden(cells[i])):
            problems.append(f'cell {i}: the heading "{text}" itself must stay visible')
        end = headings[n + 1][0] if n + 1 < len(headings) else len(cells)
        block = range(i + 1, end)
        if not block:
            problems.append(f'cell {i}: "{text}" has no cells under it')
        for j in block:
            src, out = hidden(cells[j])
            if not src or (cells[j]['cell_type'] == 'code' and not out):
                problems.append(f'cell {j} under "{text}" is not collapsed (jupyter.source_hidden'
                                + (' and outputs_hidden)' if cells[j]['cell_type'] == 'code' else ')'))
        exercises = [k for k, t in headings[:n] if EXERCISE.match(t)]
        if not exercises:
            problems.append(f'cell {i}: "{text}" follows no exercise heading (Exercise/Your turn/Predict)')
            continue
        editable = [k for k in range(exercises[-1] + 1, i) if cells[k]['cell_type'] == 'code'
                    and not hidden(cells[k])[0]]
        if not editable:
            problems.append(f'cell {i}: "{text}" comes before any visible code cell of its exercise')
    return problems


# ---------------------------------------------------------------------------------------------------
# Numbers in prose
# ---------------------------------------------------------------------------------------------------
# Cited figures: typed in prose without being printed, each with its source.
CITED = {
    '0.95': 'LeNet-5 on MNIST: 0.95 % test error (LeCun et al. 1998)',
    '0.8': 'LeNet-5 with distortions: 0.8 % test error (LeCun et al. 1998)',
    '0.835': 'Fashion-MNIST benchmark table (zalandoresearch/fashion-mnist README): human',
    '0.876': 'Fashion-MNIST benchmark table: 2 Conv+pooling, low end',
    '0.916': 'Fashion-MNIST benchmark table: 2 Conv+pooling, high end',
    '0.925': 'Fashion-MNIST benchmark table: 2 Conv <100K parameters',
    '0.934': 'Fashion-MNIST benchmark table: 2 Conv+pooling+BN',
    '0.949': 'Fashion-MNIST benchmark table: ResNet18',
    '0.959': 'Fashion-MNIST benchmark table: WRN-28-10',
    '60000': 'Fashion-MNIST / MNIST: training images (the datasets\' README)',
    '10000': 'Fashion-MNIST / MNIST: test images',
    '6000': 'Fashion-MNIST: training images per class',
    '1000': 'Fashion-MNIST: test images per class',
    '784': '28 x 28 pixels: the input an MLP sees',
    '400': 'the chapter\'s LeNet: 16 x 5 x 5 values after Flatten',
    '120': 'the chapter\'s LeNet: first dense layer width',
    '61706': 'the chapter\'s LeNet: parameters (lh.count_params(lh.lenet()), tests/test_models.py)',
}
NUMBER = re.compile(r'(?<![\w.,/-])(-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+\.\d+|\d{3,})(?![\w/]|[.,]\d)'
                    r'(\s*(?:%|per ?cent|million))?', re.I)
SECTION = re.compile(r'(section|chapter|§|edition|version|python|torch|jupyterlab|nbval|v)\s*$', re.I)


def markdown_numbers(text):
    """Numbers a reader would take as a result: decimals (0.847), thousands (9,181) and integers of 100
    or more (214 s); a trailing %, 'per cent' or 'million' is kept as a unit.

    Ignored: integers below 100 (sizes and counts such as 28, 5x5, 16 channels), years 1900-2099,
    section and version numbers (after 'section', 'chapter', 'version', 'Python', ...), and everything
    inside code spans, code blocks, LaTeX, link targets and HTML tags.
    """
    text = re.sub(r'```.*?```', ' ', text, flags=re.S)
    text = re.sub(r'`[^`]*`', ' ', text)
    text = re.sub(r'\$\$.*?\$\$|\$[^$]*\$', ' ', text, flags=re.S)
    text = re.sub(r'\]\([^)]*\)', ']', text)  # link targets
    text = re.sub(r'<[^>]+>|https?://\S+', ' ', text)
    found = []
    for m in NUMBER.finditer(text):
        raw, unit = m.group(1), (m.group(2) or '').strip().lower()
        plain = raw.replace(',', '')
        if re.fullmatch(r'(19|20)\d\d', plain) or SECTION.search(text[:m.start()]):
            continue
        found.append((raw, unit))
    return found


def output_text(cell):
    """Everything a code cell shows: streams, plain text, HTML (tags stripped), error tracebacks."""
    parts = []
    for out in cell.get('outputs', []):
        if 'text' in out:
            parts.append(''.join(out['text']))
        data = out.get('data', {})
        for kind in ('text/plain', 'text/html', 'text/markdown'):
            if kind in data:
                parts.append(re.sub(r'<[^>]+>', ' ', ''.join(data[kind])))
        parts.extend(out.get('traceback', []))
    return '\n'.join(parts)


def code_numbers(src):
    """The numeric literals of a code cell (settings such as lr 0.9 or batch 128), comments excluded."""
    try:
        return [t.string.replace('_', '') for t in tokenize.generate_tokens(io.StringIO(src).readline)
                if t.type == tokenize.NUMBER]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def shown_values(cells):
    """Every number the notebook's outputs and code show, as floats."""
    values = set()
    for cell in cells:
        if cell['cell_type'] != 'code':
            continue
        for raw in re.findall(r'-?\d[\d,]*(?:\.\d+)?(?:e-?\d+)?', output_text(cell)):
            try:
                values.add(float(raw.replace(',', '')))
            except ValueError:
                pass
        for raw in code_numbers(source(cell)):
            try:
                values.add(float(raw))
            except ValueError:
                pass
    return values


def supported(raw, unit, values):
    """True when a prose number is backed by a shown value: equal, or equal after rounding that value to
    the prose's decimals (214 s <- 213.8); a percentage may also be a fraction (84.7 % <- 0.847); 'million' compares
    at the prose's precision (11.4 million <- 11,415,882)."""
    plain = raw.replace(',', '')
    if plain.lstrip('-') in CITED:
        return True
    value, decimals = float(plain), len(plain.split('.')[1]) if '.' in plain else 0
    candidates = set(values)
    if unit in ('%', 'per cent', 'percent'):
        candidates |= {v * 100 for v in values}
    if unit == 'million':
        candidates = {v / 1e6 for v in values}
    return any(round(v, decimals) == value for v in candidates)


def unsupported_numbers(cells):
    """Prose numbers that neither the outputs nor the code show and that are not cited."""
    values = shown_values(cells)
    bad = []
    for i, cell in enumerate(cells):
        if cell['cell_type'] == 'markdown':
            bad += [f'cell {i}: {raw}{" " + unit if unit else ""}' for raw, unit in
                    markdown_numbers(source(cell)) if not supported(raw, unit, values)]
    return bad


# ---------------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------------
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
def test_nbval_markers_are_tags_with_a_reason_and_code_cells_are_introduced(name):
    cells = load(name)['cells']
    for i, cell in enumerate(cells):
        if cell['cell_type'] != 'code':
            continue
        assert 'NBVAL' not in source(cell), f'{name} cell {i}: nbval markers go in cell tags, not in the code'
        tags = set(cell['metadata'].get('tags', []))
        nbval = {t for t in tags if t.startswith('nbval')}
        assert nbval <= NBVAL_TAGS, f'{name} cell {i}: unknown nbval tag {nbval - NBVAL_TAGS}'
        if nbval & {'nbval-ignore-output', 'nbval-skip'}:
            reason = cell['metadata'].get('nbval_reason', '')
            assert isinstance(reason, str) and len(reason) > 20, \
                f'{name} cell {i}: say why in metadata["nbval_reason"] (a sentence)'
        grading = cell['metadata'].get('nbgrader', {})
        if i > 0 and not (grading.get('grade') or grading.get('solution')) and not hidden(cell)[0]:
            assert any(c['cell_type'] == 'markdown' for c in cells[max(0, i - 3):i]), \
                f'{name} cell {i}: say why in a markdown cell before the code'


def test_installed_nbval_reads_the_tags_we_use():
    from nbval.plugin import find_metadata_tags
    assert dict(find_metadata_tags({'tags': ['nbval-ignore-output']})) == {'check': False}
    assert dict(find_metadata_tags({'tags': ['nbval-skip']})) == {'skip': True}


@pytest.mark.parametrize('name', ALL)
def test_solutions_are_collapsed_and_come_after_the_exercise(name):
    problems = solution_blocks(load(name)['cells'])
    assert not problems, f'{name}: ' + '; '.join(problems) + ' (rule: NOTEBOOK_RULES.md)'


@pytest.mark.parametrize('name', ALL)
def test_numbers_in_prose_are_shown_or_cited(name):
    bad = unsupported_numbers(load(name)['cells'])
    assert not bad, (f'{name}: numbers in markdown that no output shows and CITED does not list: '
                     + ', '.join(bad) + '. Let a code cell print them, or cite a published figure.')


LOCAL_PATH = re.compile(r'(/work/|/home/|/tmp/|/root/|/Users/|/private/var/|site-packages|dist-packages'
                        r'|[A-Za-z]:\\\\(Users|Documents))')


@pytest.mark.parametrize('name', ALL)
def test_no_absolute_local_paths_in_outputs(name):
    for i, cell in enumerate(load(name)['cells']):
        if cell['cell_type'] == 'code':
            match = LOCAL_PATH.search(output_text(cell))
            assert not match, f'{name} cell {i}: output shows a local path ({match.group(0)}...)'


@pytest.mark.parametrize('name', ALL)
def test_opens_with_objectives_prerequisites_time_and_d2l_link_and_closes_with_a_summary(name):
    cells = load(name)['cells']
    first_code = next(i for i, c in enumerate(cells) if c['cell_type'] == 'code')
    opening = '\n'.join(source(c) for c in cells[:first_code] if c['cell_type'] == 'markdown')
    assert re.search(r'learning objectives|you will learn', opening, re.I), f'{name}: no learning objectives'
    assert re.search(r'prerequisites', opening, re.I), f'{name}: no prerequisites'
    minutes = re.search(r'(?:time|takes)[^\n]*?(\d+)\s*(?:-\s*\d+\s*)?min', opening, re.I)
    assert minutes and int(minutes.group(1)) <= 45, f'{name}: give a time estimate of at most 45 minutes'
    assert re.search(r'https://(classic\.)?d2l\.ai/chapter_', opening), f'{name}: link the d2l section'
    last = next(c for c in reversed(cells) if c['cell_type'] == 'markdown')
    assert re.match(r'what you learned', heading(last) or '', re.I), f'{name}: close with "What you learned"'


@pytest.mark.parametrize('name', EXERCISES)
def test_every_cell_has_nbgrader_metadata_with_a_unique_id(name):
    ids = []
    for cell in load(name)['cells']:
        meta = cell['metadata'].get('nbgrader')
        assert meta and meta['schema_version'] == 3, f'{name}: a cell lacks nbgrader metadata'
        ids.append(meta['grade_id'])
        if meta['solution'] and cell['cell_type'] == 'markdown':
            # nbgrader's "manually graded answer": a written answer the student edits and the instructor grades
            assert meta['grade'] and not meta['locked'] and meta['points'] > 0, f'{name}: {meta["grade_id"]}'
            assert not any(hidden(cell)), f'{name}: the written answer {meta["grade_id"]} must not be collapsed'
        elif meta['solution']:
            assert cell['cell_type'] == 'code' and not meta['locked'] and not meta['grade']
            assert not any(hidden(cell)), f'{name}: the editable cell {meta["grade_id"]} must not be collapsed'
        elif meta['grade']:
            assert meta['locked'] and meta['points'] > 0 and cell['cell_type'] == 'code'
        else:
            assert meta['locked'] and not meta['task']
    assert len(ids) == len(set(ids)), f'{name}: grade_ids repeat'


@pytest.mark.parametrize('name', EXERCISES)
def test_exercises_have_marked_solutions_followed_by_tests(name):
    cells = load(name)['cells']
    solutions = [i for i, c in enumerate(cells) if c['metadata']['nbgrader']['solution'] and c['cell_type'] == 'code']
    assert solutions, f'{name} has no exercise'
    for i in solutions:
        lines = [line.strip() for line in ''.join(cells[i]['source']).splitlines()]
        assert '### BEGIN SOLUTION' in lines and '### END SOLUTION' in lines
        following = cells[i + 1:i + 3]
        assert any(c['metadata']['nbgrader']['grade'] for c in following), f'{name}: no test after cell {i}'
        assert 'assert' in ''.join(next(c for c in following if c['metadata']['nbgrader']['grade'])['source'])


# ---------------------------------------------------------------------------------------------------
# The checkers themselves, on synthetic notebooks: each must catch what it exists to catch
# ---------------------------------------------------------------------------------------------------
def md(text, **meta):
    return {'cell_type': 'markdown', 'metadata': meta, 'source': text}


def code(text, out='', **meta):
    return {'cell_type': 'code', 'metadata': meta, 'source': text, 'execution_count': 1,
            'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': out}] if out else []}


COLLAPSED = {'jupyter': {'source_hidden': True, 'outputs_hidden': True}}


def test_extractor_finds_result_numbers_and_skips_sizes_years_code_and_sections():
    text = ('It reached 0.847 at 9,181 examples/sec in 214 s, 84.7 % and 11.4 million; 28x28, 5x5, '
            '16 channels, in 1989; see section 7.6 and `lr=0.3`, $0.5$, [link](https://x.org/1.234).')
    assert markdown_numbers(text) == [('0.847', ''), ('9,181', ''), ('214', ''), ('84.7', '%'),
                                      ('11.4', 'million')]


def test_prose_numbers_fail_on_a_planted_mismatch_and_pass_when_shown():
    cells = [md('The run reached 0.847 test accuracy at 9,181 examples/sec.'),
             code('train()', out='loss 0.40, train acc 0.851, test acc 0.847\n9181.3 examples/sec')]
    assert unsupported_numbers(cells) == []
    cells[0] = md('The run reached 0.85 test accuracy (84.7 %) at roughly 8,000 examples/sec.')
    assert unsupported_numbers(cells) == ['cell 0: 8,000']  # 0.85 rounds 0.847; 8,000 is nobody's
    cells[0] = md('The ablation moved accuracy by -0.011.')
    cells[1] = code('table()', out='dropout  -0.012')
    assert unsupported_numbers(cells) == ['cell 0: -0.011']
    cells[0] = md('LeNet-5 reached 0.95 % error; our lr is 0.9, and it needs about 11.4 million weights.')
    cells[1] = code('lr = 0.9\nprint(n)', out='11,415,882')
    assert unsupported_numbers(cells) == []


def test_solution_rule_catches_open_answers_answers_first_and_passes_the_right_order():
    good = [md('## Exercise: predict the shape'), code('my_answer = None'),
            md('### Solution: open it after you have tried'), code('answer = 4', **COLLAPSED),
            md('## Next part')]
    assert solution_blocks(good) == []
    open_answer = [dict(c) for c in good]
    open_answer[3] = code('answer = 4')
    assert 'not collapsed' in solution_blocks(open_answer)[0]
    answer_first = [good[0], good[2], good[3], md('## Your turn'), good[1]]
    assert 'before any visible code cell' in solution_blocks(answer_first)[0]
    assert 'not collapsed' in solution_blocks([good[0], good[2], good[1], good[3]])[0]  # work cell swallowed
    orphan = [md('## Something'), code('x = 1'), good[2], good[3]]
    assert 'follows no exercise' in solution_blocks(orphan)[0]


def test_local_path_check_catches_a_leaked_checkout():
    assert LOCAL_PATH.search(output_text(code('x', out='data folder: /home/ana/lenet/data')))
    assert LOCAL_PATH.search(output_text(code('x', out='/opt/venv/lib/python3.11/site-packages/torch')))
    assert not LOCAL_PATH.search(output_text(code('x', out='data folder: data/FashionMNIST (project)')))


# ---------------------------------------------------------------------------------------------------
# Timings: measured by tools/run_notebooks.py, README's table generated from them
# ---------------------------------------------------------------------------------------------------
def _runner():
    from conftest import load_script
    return load_script('tools/run_notebooks.py')


def test_readme_timing_table_is_the_one_generated_from_timings_json():
    runner = _runner()
    readme = (NOTEBOOKS.parent / 'README.md').read_text()
    assert runner.BEGIN in readme and runner.END in readme
    shown = readme.split(runner.BEGIN, 1)[1].split(runner.END, 1)[0].strip()
    data = json.loads(runner.TIMINGS.read_text()) if runner.TIMINGS.exists() else {}
    assert shown == runner.timing_table(data), 'run: python tools/run_notebooks.py --readme'


def test_timings_merge_and_the_readme_table_follows_them(tmp_path):
    import datetime
    runner = _runner()
    timings, readme = tmp_path / 'timings.json', tmp_path / 'README.md'
    runner.record('02_shape_inspection.ipynb', 4.24, timings, mode='full', when=datetime.date(2026, 11, 29))
    runner.record('01_why_lenet.ipynb', 95.0, timings, mode='full', when=datetime.date(2026, 11, 29))
    runner.record('01_why_lenet.ipynb', 12.0, timings, mode='quick', when=datetime.date(2026, 11, 29))
    data = json.loads(timings.read_text())
    assert data['full']['02_shape_inspection.ipynb']['seconds'] == 4.2  # kept when 01 was added
    assert data['full']['01_why_lenet.ipynb']['seconds'] == 95.0 and data['quick']['01_why_lenet.ipynb']
    assert data['full']['01_why_lenet.ipynb']['cpu'] == runner.cpu_model()
    readme.write_text(f'intro\n{runner.BEGIN}\nold typed table\n{runner.END}\nafter\n')
    runner.update_readme(readme, timings)
    text = readme.read_text()
    assert '| notebook | 01 | 02 |' in text and '| full mode | 95 s | 4 s |' in text
    assert 'old typed table' not in text and text.startswith('intro\n') and text.endswith('after\n')
    assert 'Measured 2026-11-29 on:' in text


def test_timing_table_blames_other_programs_only_when_the_load_says_so():
    runner = _runner()
    entry = {'seconds': 10.0, 'cpu': 'X', 'cores': 2, 'threads': 'default', 'date': '2026-11-29'}
    own = runner.timing_table({'full': {'01_a.ipynb': {**entry, 'load': 1.9}}})
    shared = runner.timing_table({'full': {'01_a.ipynb': {**entry, 'load': 3.9}}})
    assert "notebooks' own training" in own and 'other programs' not in own
    assert 'other programs shared the CPU' in shared
