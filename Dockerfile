# One image, two commands: the HTTP API (the default) or the drawing dashboard; no torch (they read with ONNX
# Runtime), shipped weights inside. `make image` builds it with docker or podman; docs/deployment.md has the figures.
#   docker build -t digitlib .
#   docker run --rm -p 8000:8000 digitlib                                 # API, docs at http://localhost:8000/docs
#   docker run --rm -p 8866:8866 digitlib voila notebooks/06_dashboard.ipynb --port=8866 --Voila.ip=0.0.0.0 --no-browser
# The dashboard saves no corrections unless run with -e DIGITLIB_CORRECTIONS=on (and a volume for them).
# Extra arguments go to the API: docker run ... digitlib python -m digitlib serve --host 0.0.0.0 --workers 2
#
# The base: the official Python image by default, or any Debian-like one without Python (Debian's python3 and a
# virtual environment then): --build-arg BASE=debian:bookworm-slim. pip's own settings (an index, a certificate
# bundle) without editing this file: --secret id=pip.conf,src=FILE and --secret id=ca.crt,src=FILE, mounted for
# the pip commands only (nothing of them stays in the image).
ARG BASE=python:3.11-slim

FROM ${BASE} AS python
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PIP_CONFIG_FILE=/run/secrets/pip.conf PIP_CERT=/etc/ssl/certs/ca-certificates.crt PATH=/opt/venv/bin:$PATH
# hadolint ignore=DL3008
RUN command -v python3 >/dev/null || { apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
        && rm -rf /var/lib/apt/lists/*; } \
    && python3 -m venv /opt/venv

FROM python AS wheel
WORKDIR /src
COPY pyproject.toml README.md requirements.txt ./
COPY digitlib digitlib
COPY weights weights
# the wheel carries the shipped weights (digitlib/shipped_weights), as pyproject.toml says
RUN --mount=type=secret,id=pip.conf --mount=type=secret,id=ca.crt,target=/etc/ssl/certs/ca-certificates.crt \
    pip wheel --no-deps --wheel-dir /dist .

FROM python
WORKDIR /app
COPY requirements.txt .
# What the API and the dashboard import, at requirements.txt's pins: no torch, no notebook or test tools
# (deploy/smoke.py fails if one is missing: it serves and reads a drawing through both)
RUN --mount=type=secret,id=pip.conf --mount=type=secret,id=ca.crt,target=/etc/ssl/certs/ca-certificates.crt \
    grep -E '^(numpy|pillow|scipy|onnxruntime|platformdirs|ipykernel|ipywidgets|ipycanvas|anywidget|voila|fastapi|fastapi-offline|uvicorn|uvloop|httptools|python-multipart)==' \
        requirements.txt > runtime.txt \
    && pip install -r runtime.txt && rm runtime.txt requirements.txt
COPY --from=wheel /dist /dist
RUN pip install --no-deps /dist/*.whl && rm -r /dist \
    && useradd --create-home --uid 10001 digitlib \
    && install -d -o digitlib -g digitlib /data  # DIGITLIB_DATA=/data: a volume for corrections (deploy/compose.yaml)
# the dashboard: its notebook and Voila's settings (kernel ceiling, upload size), read from this folder
COPY notebooks/06_dashboard.ipynb notebooks/
COPY voila.json .
USER 10001
EXPOSE 8000 8866
# healthy when whichever of the two is running answers: the API's /healthz, or the dashboard's server (no kernel)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-c", "import sys, urllib.request as u\nfor url in ('http://127.0.0.1:8000/healthz', 'http://127.0.0.1:8866/voila/static/favicon.ico'):\n    try:\n        u.urlopen(url, timeout=4)\n        sys.exit(0)\n    except OSError:\n        pass\nsys.exit(1)"]
CMD ["python", "-m", "digitlib", "serve", "--host", "0.0.0.0"]
