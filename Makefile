# Two commands on a fresh machine: `make lab` (set up, then JupyterLab) and `make test` (set up, then every test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The PyTorch build to install; override for another platform, e.g. make TORCH="torch torchvision".
TORCH  ?= torch==2.14.1 torchvision==0.29.1
STAMP  := $(VENV)/.installed
DATA   := data/FashionMNIST/raw/train-images-idx3-ubyte
# Debian/Ubuntu packages: the real Fashion-MNIST offline, and Chromium for the browser test.
APT_PACKAGES ?= dataset-fashion-mnist chromium
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: lab test setup system-packages data benchmark clean

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--ServerApp.allow_root=True)

lab: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks $(ALLOW_ROOT) \
	  --ServerApp.open_browser=$${LAB_OPEN_BROWSER:-True}

# Quick mode, the exact pins, and nothing written into the working tree: notebooks save their
# checkpoints under a temporary LENET_CHECKPOINT_DIR, removed afterwards. LENET_DATA_DIR names a temporary
# data folder with generated MNIST files (no offline source) beside the real Fashion-MNIST, so 07's MNIST
# path runs too.
test: setup
	@scratch=$$(mktemp -d); \
	$(BIN)/python tools/make_test_data.py $$scratch/data && \
	LENET_QUICK=1 LENET_EXACT_PINS=1 LENET_CHECKPOINT_DIR=$$scratch LENET_DATA_DIR=$$scratch/data \
	  $(BIN)/python -m pytest tests notebooks --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider $(PYTEST_ARGS); \
	status=$$?; rm -rf "$$scratch"; exit $$status

setup: system-packages $(STAMP) $(DATA)

system-packages:
	@if command -v apt-get >/dev/null 2>&1; then \
	  missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages: $$missing"; \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	  fi; \
	else echo "No apt-get here: the data will be downloaded, and the browser test needs Chromium at /usr/bin/chromium."; fi

# pyproject.toml holds the compatible ranges; requirements/pins.txt and TORCH the exact versions tested.
$(STAMP): pyproject.toml requirements/pins.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -c requirements/pins.txt -e ".[lab,test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (lenet)"
	touch $(STAMP)

$(DATA): | $(STAMP)
	$(BIN)/python -m lenet_helpers data

data: $(DATA)

# Student versions of the exercise notebooks (nbgrader): hand out course/lenet-student.zip
# (= course/release/lenet/). Edits under course/ are refused unless STUDENT_ARGS=--force.
.PHONY: student formgrade
student: setup
	$(BIN)/python -m lenet_helpers student --course course $(STUDENT_ARGS)

# nbgrader's formgrader on course/ (its nbgrader_config.py sets CourseDirectory.root and the gradebook).
formgrade: setup
	test -f course/nbgrader_config.py || $(MAKE) student
	cd course && ../$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.default_url=/formgrader $(ALLOW_ROOT) \
	  --ServerApp.open_browser=$${LAB_OPEN_BROWSER:-True}

benchmark: setup
	$(BIN)/python benchmarks/train_speed.py

clean:
	rm -rf $(VENV) data runs  # course/ is an instructor's: never removed here
