# make setup: create .venv and install the pinned dependencies and digitlib
# make test:  set up, fetch MNIST (offline-first), run the tests
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup test data clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

data: setup
	$(BIN)/python -m digitlib data

test: data
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) data/MNIST
