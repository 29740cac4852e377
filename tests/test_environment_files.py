"""The descriptions of the environment agree, use conda-forge's real names, and hold versions that exist.

- pyproject.toml: the library's compatible ranges (floors checked below against the APIs used);
- requirements/pins.txt and the Makefile's TORCH: the exact versions `make test` runs on;
- environment.yml and binder/environment.yml: a student's conda environment (no test tools);
- environment-dev.yml: a developer's (the student's plus the test tools).
Every conda entry is a range holding a version confirmed on conda-forge; its comment names that version
("conda-forge X.Y.Z") and where it was confirmed.
"""
import os
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
ROOT_ENV, BINDER_ENV, DEV_ENV = ROOT / 'environment.yml', ROOT / 'binder' / 'environment.yml', ROOT / 'environment-dev.yml'
ENV_FILES = [ROOT_ENV, BINDER_ENV, DEV_ENV]
ENV_IDS = ['environment.yml', 'binder/environment.yml', 'environment-dev.yml']

# pip name -> conda-forge name. A pip name used in a conda file where conda-forge has another name
# fails test_conda_names_are_conda_forge_names with the reason given here.
CONDA_NAME = {'torch': 'pytorch-cpu', 'matplotlib': 'matplotlib-base', 'playwright': 'playwright-python'}
WRONG_CONDA_NAME = {
    'torch': 'conda-forge calls PyTorch "pytorch"; use the CPU build "pytorch-cpu"',
    'pytorch': 'use "pytorch-cpu": plain "pytorch" may pull a CUDA build of several GB',
    'pytorch-gpu': 'use "pytorch-cpu": Binder and laptops have no GPU',
    'matplotlib': 'conda-forge\'s "matplotlib" drags in Qt (pyside6); use "matplotlib-base"',
    'playwright': 'conda-forge\'s "playwright" is the Node.js command-line tool; the Python bindings are "playwright-python"',
}
PIP_ONLY = {'jupyter-repo2docker'}  # test tools taken from PyPI by environment-dev.yml's pip section
TEST_TOOLS = {'pytest', 'nbval', 'nbformat', 'nbclient', 'playwright-python', 'pyyaml'}


def pyproject():
    return tomllib.loads((ROOT / 'pyproject.toml').read_text())


def requirements(group):
    """{pip name: Requirement} of pyproject's base dependencies ('base') or an extra."""
    project = pyproject()['project']
    specs = project['dependencies'] if group == 'base' else project['optional-dependencies'][group]
    reqs = [Requirement(s) for s in specs]
    return {r.name.lower().replace('_', '-'): r for r in reqs}


def conda_name(pip_name):
    return CONDA_NAME.get(pip_name, pip_name)


def conda_entries(path):
    """[(name, SpecifierSet, comment)] for the conda entries of an environment file, and its pip list."""
    env = yaml.safe_load(path.read_text())
    comments = {}
    for line in path.read_text().splitlines():
        m = re.match(r'\s+- ([a-z0-9_.-]+)([^#:]*?)\s*(?:#\s*(.*))?$', line)
        if m:
            comments[m.group(1)] = m.group(3) or ''
    entries, pip = [], []
    for dep in env['dependencies']:
        if isinstance(dep, dict):
            assert set(dep) == {'pip'}, f'{path.name}: unexpected entry {dep}'
            pip += dep['pip']
            continue
        m = re.fullmatch(r'([a-z0-9_.-]+)\s*(.*)', dep)
        assert m, f'{path.name}: cannot read the entry {dep!r}'
        name, spec = m.group(1), m.group(2).replace(' ', '')
        if re.fullmatch(r'=\d+\.\d+', spec):  # conda's "=3.12" means 3.12.*
            spec = f'={spec}.*'
        entries.append((name, SpecifierSet(spec) if spec else None, comments.get(name, '')))
    names = [e[0] for e in entries]
    assert len(names) == len(set(names)), f'{path.name} lists a package twice'
    return entries, pip


def specs(path):
    return {name: spec for name, spec, _ in conda_entries(path)[0]}


def exact_pins():
    """{pip name: version} that `make test` installs: requirements/pins.txt plus the Makefile's TORCH."""
    pins = {}
    for line in (ROOT / 'requirements' / 'pins.txt').read_text().splitlines():
        line = line.split('#')[0].strip()
        if line:
            name, version = line.split('==')
            pins[name.lower()] = version
    torch = re.search(r'^TORCH\s*\?=\s*(.+)$', (ROOT / 'Makefile').read_text(), re.M).group(1).split()
    for spec in torch:
        name, version = spec.split('==')
        pins[name.lower()] = version
    return pins


@pytest.mark.parametrize('path', ENV_FILES, ids=ENV_IDS)
def test_conda_names_are_conda_forge_names(path):
    entries, _ = conda_entries(path)
    env = yaml.safe_load(path.read_text())
    assert env['channels'] == ['conda-forge', 'nodefaults'], f'{path.name}: conda-forge only'
    for name, _, _ in entries:
        assert name not in WRONG_CONDA_NAME, f'{path.name}: {name!r}: {WRONG_CONDA_NAME[name]}'


@pytest.mark.parametrize('path', ENV_FILES, ids=ENV_IDS)
def test_every_entry_is_a_range_holding_a_confirmed_version(path):
    entries, _ = conda_entries(path)
    for name, spec, comment in entries:
        if name == 'pip':
            assert comment, f'{path.name}: say what pip installs'
            continue
        if name == 'python':  # repo2docker reads the version only from "python=X.Y" (else it builds 3.10)
            assert re.fullmatch(r'==3\.\d+\.\*', str(spec)), f'{path.name}: write python as "python =3.Y"'
        else:
            assert spec is not None and any(s.operator == '>=' for s in spec) and any(s.operator == '<' for s in spec), \
                f'{path.name}: {name} needs a range ">=X,<Y" holding a version confirmed on conda-forge'
        m = re.search(r'conda-forge (\d+(?:\.\d+)+)\b', comment)
        assert m, f'{path.name}: {name}: the comment must name the confirmed version ("conda-forge X.Y.Z (where)")'
        assert Version(m.group(1)) in spec, \
            f'{path.name}: {name} {spec} does not hold its confirmed conda-forge version {m.group(1)}'
        assert re.search(r'feedstock|anaconda\.org', comment), f'{path.name}: {name}: say where {m.group(1)} was confirmed'
        assert re.search(r';\s*\S', comment), f'{path.name}: {name}: after the source, say what needs the package'


def test_python_311_everywhere():
    assert SpecifierSet(pyproject()['project']['requires-python']) == SpecifierSet('>=3.11')
    for path in ENV_FILES:
        spec = dict((n, s) for n, s, _ in conda_entries(path)[0])['python']
        assert spec.contains('3.10.9') is False and any(spec.contains(f'3.{m}.0') for m in (11, 12, 13)), \
            f'{path.name}: python must be 3.11+'
    readme = (ROOT / 'README.md').read_text()
    assert 'Python 3.11+' in readme and not re.search(r'Python 3\.(9|10)\+', readme)


def test_student_environments_cover_the_package_and_the_lab():
    expected = {conda_name(n) for n in [*requirements('base'), *requirements('lab')]}
    for path in (ROOT_ENV, BINDER_ENV):
        names = {n for n, _, _ in conda_entries(path)[0]} - {'python', 'pip'}
        assert not expected - names, f'{path.name} lacks {sorted(expected - names)} from pyproject.toml'
        assert not names - expected, f'{path.name} has {sorted(names - expected)}, which pyproject.toml does not need'


def test_binder_image_has_no_test_tools():
    for path in (ROOT_ENV, BINDER_ENV):
        names = {n for n, _, _ in conda_entries(path)[0]}
        assert not names & TEST_TOOLS, f'{path.name} is a student environment: move {sorted(names & TEST_TOOLS)} to environment-dev.yml'
    assert specs(ROOT_ENV) == specs(BINDER_ENV), 'binder/environment.yml must carry the packages and ranges of environment.yml'
    assert conda_entries(ROOT_ENV)[1] == ['-e .'], 'environment.yml installs the repository with pip ("-e .")'
    assert conda_entries(BINDER_ENV)[1] == [], 'binder/environment.yml cannot pip-install local paths; postBuild does that'


def test_developer_environment_adds_the_test_tools():
    student, dev = specs(ROOT_ENV), specs(DEV_ENV)
    assert {n: dev.get(n) for n in student} == student, 'environment-dev.yml holds the student environment, unchanged'
    expected = {conda_name(n) for n in requirements('test')} - PIP_ONLY
    added = set(dev) - set(student)
    dev_pip = conda_entries(DEV_ENV)[1]
    assert added == expected, f'environment-dev.yml adds {sorted(added)}; the test extra needs {sorted(expected)}'
    assert dev_pip == ['-e .[test]'], 'environment-dev.yml installs the package with its test extra (PyPI-only tools)'


def test_pyproject_declares_ranges_not_pins():
    for group in ('base', 'lab', 'test'):
        for name, req in requirements(group).items():
            ops = {s.operator for s in req.specifier}
            assert '>=' in ops and not ops & {'==', '~=', '==='}, \
                f'pyproject.toml: {name} {req.specifier}: a library declares a floor (>=), not a pin'


def test_the_tested_versions_are_allowed_everywhere():
    """The exact versions `make test` installs satisfy pyproject's ranges and every conda range."""
    pins = exact_pins()
    for group in ('base', 'lab', 'test'):
        for name, req in requirements(group).items():
            assert name in pins, f'requirements/pins.txt (or the Makefile TORCH) has no exact version of {name}'
            assert Version(pins[name]) in req.specifier, f'{name}=={pins[name]} is outside pyproject\'s {req.specifier}'
            for path in ENV_FILES:
                spec = dict((n, s) for n, s, _ in conda_entries(path)[0]).get(conda_name(name))
                if spec is not None:
                    assert Version(pins[name]) in spec, f'{path.name}: {conda_name(name)} {spec} excludes the tested {pins[name]}'


def test_installed_versions():
    """`make test` (LENET_EXACT_PINS=1) runs on the exact pins; any other run on versions inside the ranges."""
    exact = os.environ.get('LENET_EXACT_PINS') == '1'
    pins = exact_pins()
    wrong = {}
    for group in ('base', 'lab', 'test'):
        for name, req in requirements(group).items():
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                wrong[name] = 'not installed'
                continue
            local = Version(installed.split('+')[0])
            if exact and local != Version(pins[name]):
                wrong[name] = f'{installed}, make test pins {pins[name]}'
            elif local not in req.specifier:
                wrong[name] = f'{installed}, outside {req.specifier}'
    assert not wrong, f'installed versions: {wrong}'


# ---- honest floors: an API newer than a declared floor fails here ----------------------------------
# (package, pattern, first version that has it). Add a line when the code starts using something new.
NEWER_APIS = [
    ('python', r'\bexcept\s*\*|\bExceptionGroup\b|\bimport tomllib\b|typing\.Self\b', '3.11'),
    ('python', r'\bitertools\.batched\b|^\s*type \w+\s*=|\bdef \w+\[', '3.12'),
    ('torch', r'\btorch\.serialization\.add_safe_globals\b', '2.4'),
    ('torch', r'\btorch\.serialization\.safe_globals\b', '2.5'),
    ('torch', r'\btorch\.accelerator\b|\bin_order\s*=', '2.6'),
    ('torch', r'\btorch\.amp\.GradScaler\b|\btorch\.get_device_module\b', '2.3'),
    ('torch', r'\btorch\.nn\.attention\b', '2.2'),
    ('torchvision', r'\btv_tensors\b', '0.16'),
    ('torchvision', r'\btransforms\.v2\b', '0.16'),
    ('numpy', r'\bnp\.(trapezoid|unstack|astype|isdtype|concat|permute_dims|pow)\b', '2.0'),
    ('numpy', r'\bnp\.cumulative_(sum|prod)\b', '2.1'),
    ('matplotlib', r'\.get_figure\(\s*root\s*=|\btick_labels\s*=', '3.10'),
    ('matplotlib', r'\bremove_inner_ticks\b|\bpcolormesh\(.*\bsnap\b', '3.8'),
    ('matplotlib', r'\bset_layout_engine\b|\bpick_radius\b', '3.6'),
    ('ipywidgets', r'\bwidgets\.(TagsInput|ColorsInput|FloatsInput|IntsInput|Stack)\b', '8.0'),
]


def declared_floors():
    floors = {'python': Version(re.search(r'>=\s*([\d.]+)', pyproject()['project']['requires-python']).group(1))}
    for name, req in requirements('base').items():
        floors[name] = max(Version(s.version) for s in req.specifier if s.operator == '>=')
    return floors


def code_sources():
    """(label, text) of the package's modules and the notebooks' code cells."""
    import json
    for path in sorted((ROOT / 'lenet_helpers').glob('*.py')):
        yield str(path.relative_to(ROOT)), path.read_text()
    for path in sorted((ROOT / 'notebooks').glob('*.ipynb')):
        cells = json.loads(path.read_text())['cells']
        yield str(path.relative_to(ROOT)), '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'code')


def floor_violations(sources, floors):
    found = []
    for label, text in sources:
        for package, pattern, since in NEWER_APIS:
            m = re.search(pattern, text, re.M)
            if m and floors[package] < Version(since):
                found.append(f'{label} uses {m.group(0)!r} ({package} {since}+) but declares {package}>={floors[package]}')
    return found


def test_the_floor_check_catches_a_newer_api():
    floors = declared_floors()
    assert floors['torch'] == Version('2.4')
    assert floor_violations([('x.py', 'dev = torch.accelerator.current_accelerator()')], floors), \
        'torch.accelerator (2.6) must be flagged against torch>=2.4'
    assert floor_violations([('x.py', 'for chunk in itertools.batched(xs, 3): pass')], floors)
    assert not floor_violations([('x.py', 'torch.load(p, weights_only=True)')], floors)


def test_no_api_newer_than_the_declared_floors():
    violations = floor_violations(code_sources(), declared_floors())
    assert not violations, 'raise the floor in pyproject.toml or avoid the newer API:\n' + '\n'.join(violations)
