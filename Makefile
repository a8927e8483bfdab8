# make dashboard: set up, then serve the drawing dashboard at http://127.0.0.1:8866
# make serve:     set up, then serve the HTTP API at http://127.0.0.1:8000 (docs at /docs)
# make test:      set up (packages, MNIST, a browser), then run every test and every notebook (nbval)
# make setup:     only create .venv and install the pinned dependencies and digitlib
# make lint:      ruff's lint and format check over the package, tests, benchmarks and notebooks (pyproject.toml);
#                 hadolint over the Dockerfiles; deploy/ against the Compose and Kubernetes schemas (offline);
#                 every relative link in README.md and docs/ reaches its file and heading (tests/test_docs.py)
# make onnx:      rewrite weights/NAME.onnx (what ONNX Runtime runs) from every shipped model's weights
# make image:     build the container image `digitlib` with docker, else podman (docs/deployment.md)
# make smoke:     build the image, then run the API and the dashboard in containers and check them (deploy/smoke.py)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8866
API_PORT ?= 8000

.PHONY: setup data browser fonts test lint dashboard serve onnx engine image smoke clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

data: setup
	$(BIN)/python -m digitlib data

# The browser tests use Debian's chromium where it can be had (as root), else Playwright's own download.
browser: setup
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else $(BIN)/python -m playwright install chromium; fi

# Handwriting fonts for the generated test pictures (digitlib.data.synth), from Debian's packages where they can be had
# (as root); without them the tests that need them are skipped, saying why. The last three are never trained on:
# letters in them test the rejector (digitlib.data.negatives).
FONTS := fonts-dkg-handwriting fonts-humor-sans fonts-comic-neue fonts-breip fonts-femkeklaver fonts-rufscript
fonts:
	@if [ -f /usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf ] && [ -f /usr/share/fonts/truetype/breip/Breip.ttf ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(FONTS) >/dev/null) || echo "fonts not installed"; \
	else echo "no handwriting fonts: install $(FONTS) to run every test"; fi

# DIGITLIB_SMOKE=1: the notebooks' training cells also train every model briefly on a tiny subset (into a temporary folder)
test: data browser fonts
	DIGITLIB_SMOKE=1 $(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg tests notebooks

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile deploy/proxy.Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml
	$(BIN)/kubernetes-validate --strict --quiet deploy/kubernetes/*.yaml
	$(BIN)/python -m pytest -q tests/test_docs.py

# on this machine's loopback the visitor is you: saving corrections is on unless DIGITLIB_CORRECTIONS=off is set
dashboard: setup
	DIGITLIB_CORRECTIONS=$${DIGITLIB_CORRECTIONS:-on} $(BIN)/voila notebooks/06_dashboard.ipynb --port=$(PORT) --Voila.ip=127.0.0.1 --no-browser

serve: setup
	$(BIN)/python -m digitlib serve --port $(API_PORT)

onnx: setup
	$(BIN)/python -m digitlib export

# docker if its daemon answers, else podman. BASE: the image's base; when the default cannot be pulled, a plain Debian
# made here by mmdebstrap (from Debian's packages, no container registry). PIP_CONF, PIP_CERT: pip's settings and
# certificate bundle for the build, when set (as the machine's pip has them: pip config list).
ENGINE ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo podman)
IMAGE ?= digitlib
BASE ?= docker.io/library/python:3.11-slim
LOCAL_BASE := localhost/debian:bookworm
export CONTAINERS_CONF ?= $(CURDIR)/deploy/containers.conf

# podman (with runc) and mmdebstrap from Debian's packages where they can be had (as root), when no engine answers
engine:
	@if [ $(ENGINE) = docker ] || (command -v podman && command -v mmdebstrap) >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc uidmap mmdebstrap >/dev/null; \
	else echo "no container engine: install docker, or podman and mmdebstrap" >&2; exit 1; fi

image: engine
	@base=$(BASE); \
	if $(ENGINE) image inspect $$base >/dev/null 2>&1; then how="$$base, already here"; \
	elif $(ENGINE) pull -q $$base >/dev/null 2>&1; then how="$$base, pulled"; \
	else base=$(LOCAL_BASE); \
		if ! $(ENGINE) image inspect $$base >/dev/null 2>&1; then \
			mkdir -p build && mmdebstrap --quiet --variant=minbase bookworm build/debian-bookworm.tar \
			&& $(ENGINE) import -q build/debian-bookworm.tar $$base >/dev/null || exit 1; \
		fi; how="$$base (a Debian made by mmdebstrap: $(BASE) could not be pulled)"; \
	fi; \
	echo "building $(IMAGE) with $(ENGINE) on $$how"; \
	$(ENGINE) build $(if $(filter podman,$(ENGINE)),--format docker --network host) \
		$(if $(PIP_CONF),--secret id=pip.conf$(comma)src=$(PIP_CONF)) $(if $(PIP_CERT),--secret id=ca.crt$(comma)src=$(PIP_CERT)) \
		--build-arg BASE=$$base -t $(IMAGE) . \
	&& echo "built $(IMAGE) with $(ENGINE) on $$how: $$($(ENGINE) image inspect --format '{{.Size}}' $(IMAGE) | awk '{printf "%.0f MB", $$1 / 1e6}')"
comma := ,

smoke: setup image
	ENGINE=$(ENGINE) IMAGE=$(IMAGE) $(BIN)/python deploy/smoke.py

clean:
	rm -rf $(VENV) data/MNIST tests/artifacts
