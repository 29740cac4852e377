"""Every table and message the controls and notebooks show, as HTML strings: one table helper, one message helper."""
import base64
import html
import math

BOX = {'warning': '#fff4e5;border-left:4px solid #e8a33d',   # something to fix or a run that did not complete
       'info': '#eef5ff;border-left:4px solid #4a8',         # progress and results
       'error': '#fdecea;border-left:4px solid #c0392b'}     # an exception inside a run or a callback
CELL = 'padding:2px 8px;border-bottom:1px solid #ddd;text-align:{};white-space:nowrap'


def message_html(text, kind='warning'):
    """A boxed plain-language message; kind is 'warning', 'info' or 'error'."""
    return (f'<div class="lenet-message lenet-{kind}" style="background:{BOX[kind]};padding:6px 10px;'
            f'white-space:pre-wrap">{html.escape(str(text))}</div>')


def error_html(error, advice='Change the setting back, or rerun the cell that made this control.'):
    """An exception (or a message string) as an error box that says what to do, instead of a traceback."""
    text = f'{type(error).__name__}: {error}' if isinstance(error, BaseException) else str(error)
    return message_html(f'Something went wrong: {text}\n{advice}' if advice else text, 'error')


def number(value, digits=3):
    """A table cell for a number: floats to `digits` places, NaN and None as '-', ints with separators."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return '-'
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f'{value:,}' if isinstance(value, int) else f'{value:.{digits}f}'


def table_html(head, rows, align=None, bold=(), css_class='lenet-table'):
    """THE table helper: head is a list of column titles, rows a list of lists of cells (escaped here).

    align: one 'left'/'right' per column (default: first column left, the rest right); bold: row numbers in bold.
    """
    align = align or ['left'] + ['right'] * (len(head) - 1)
    th = ''.join(f'<th style="{CELL.format(a)}">{html.escape(str(h))}</th>' for h, a in zip(head, align))
    body = ''.join(
        f'<tr{" style=font-weight:bold" if i in bold else ""}>'
        + ''.join(f'<td style="{CELL.format(a)}">{html.escape(number(c) if not isinstance(c, str) else c)}</td>'
                  for c, a in zip(row, align)) + '</tr>'
        for i, row in enumerate(rows))
    return (f'<table class="{css_class}" style="border-collapse:collapse"><thead><tr>{th}</tr></thead>'
            f'<tbody>{body}</tbody></table>')


def png_html(png, width=None, alt='figure'):
    """A PNG (bytes) as an inline <img>, for static snapshots that need no kernel."""
    size = f' width="{width}"' if width else ''
    return f'<img alt="{html.escape(alt)}"{size} src="data:image/png;base64,{base64.b64encode(png).decode()}">'


# ---------------------------------------------------------------------------------------------- shapes
def shape_table_html(rows):
    """A layer_table as HTML with totals; the Flatten row (what feeds the dense layers) in bold."""
    body = [[str(i), r['layer'], ' x '.join(map(str, r['output'])), r['params'], r['macs']]
            for i, r in enumerate(rows, 1)]
    body.append(['', 'total', '', sum(r['params'] for r in rows), sum(r['macs'] for r in rows)])
    flatten = [i for i, r in enumerate(rows) if r['layer'] == 'Flatten']
    return table_html(['#', 'layer', 'output shape', 'parameters', 'multiply-adds'], body,
                      align=['left', 'left', 'left', 'right', 'right'], bold=flatten + [len(rows)])


# ---------------------------------------------------------------------------------------------- runs
def runs_table(log, sort_by=None):
    """Every run of a RunLog with its settings, final and best figures and status; best first by sort_by."""
    rows = log.rows()
    if not rows:
        return '<p><i>No runs yet.</i></p>'
    if sort_by:
        rows.sort(key=lambda r: -r[sort_by] if r[sort_by] == r[sort_by] else float('inf'))
    columns = [c for c in dict.fromkeys(k for r in rows for k in r) if c != 'id']
    return table_html(columns, [[r.get(c, '') for c in columns] for r in rows])


def results_table(log, threshold=0.80):
    """Final and best test accuracy, epochs to reach threshold, seconds and status of every run."""
    from .runs import epochs_to_reach
    rows = []
    for run in log:
        h = run.history
        reach = epochs_to_reach(h, threshold)
        rows.append([run.name, h.test_acc[-1] if h.epoch else None, max(h.test_acc) if h.epoch else None,
                     str(reach) if reach else f'not within {len(h.epoch)}',
                     f'{h.seconds[-1]:.0f}' if h.epoch else '-', h.stopped])
    return table_html(['run', 'final test acc', 'best test acc', f'epochs to {threshold:.2f}', 'seconds',
                       'status'], rows)


def ablation_table(log, reference=None):
    """Each variant's best test accuracy and how far it falls below the reference run (the first by default)."""
    from .experiments import describe
    if not len(log):
        return '<p><i>No runs yet.</i></p>'

    def best(run):
        return max(run.history.test_acc) if run.history.epoch else float('nan')
    runs = list(log)
    ref = next((r for r in runs if r.name == reference), runs[0])
    runs.sort(key=lambda r: best(r) if best(r) == best(r) else -1)
    body = [[r.name, describe(r.design) if r.design else str(r.settings.get('design', '')),
             r.settings.get('params', 0), best(r), f'{best(r) - best(ref):+.3f}',
             f'{r.history.seconds[-1]:.0f}' if r.history.epoch else '-', r.status] for r in runs]
    return table_html(['variant', 'design', 'params', 'best test acc', f'vs {ref.name}', 'seconds', 'status'],
                      body, align=['left', 'left'] + ['right'] * 5)


LENET5_MNIST_ERROR = 0.0095  # LeCun et al. 1998: LeNet-5's test error on MNIST (0.8% with distortions)


def dataset_table(log, models=('lenet', 'lenet_plus'), datasets=('Fashion-MNIST', 'MNIST')):
    """One row per model, its best test accuracy (and error) per data set from runs whose settings carry
    model= and dataset=; a missing run reads 'not measured here'. Adds LeNet-5's published MNIST error."""
    found = {(run.settings.get('model'), run.settings.get('dataset')): run.history for run in log}

    def cell(h):
        if h is None or not h.epoch:
            return 'not measured here'
        acc = max(h.test_acc)
        return f'{acc:.4f} ({100 * (1 - acc):.2f}% error, {len(h.epoch)} epochs, {h.seconds[-1]:.0f} s)'
    rows = [[f'{m} (measured)'] + [cell(found.get((m, d))) for d in datasets] for m in models]
    rows.append(['LeNet-5, LeCun et al. 1998 (published, for reference)']
                + [f'{1 - LENET5_MNIST_ERROR:.4f} ({100 * LENET5_MNIST_ERROR:.2f}% error)' if d == 'MNIST' else '-'
                   for d in datasets])
    return table_html(['model'] + [f'{d} test acc' for d in datasets], rows)
