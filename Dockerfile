# gkeras image. The default is the GPU image (CUDA runtime + CuPy):
#   docker build -t gkeras .
#   docker run --gpus all gkeras
# A CPU-only image on the official Python image:
#   docker build --build-arg BASE_IMAGE=python:3.12-slim --build-arg GKERAS_EXTRAS= -t gkeras-cpu .
# The default command prints `python -m gkeras` (versions, backend, device, kernel status)
# and runs the Iris example.

ARG BASE_IMAGE=nvidia/cuda:12.6.3-runtime-ubuntu24.04
FROM ${BASE_IMAGE}

# Extras from pyproject.toml: cuda12, cuda13, or empty for NumPy only.
ARG GKERAS_EXTRAS=cuda12
# Build-time only (an ARG, not an ENV): apt must not prompt, the running container is unaffected.
ARG DEBIAN_FRONTEND=noninteractive

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    CUPY_CACHE_DIR=/cache/cupy

# python:* images already have Python; the CUDA images need it from apt. A virtual
# environment works on both and keeps pip away from Ubuntu's externally managed Python.
# The apt packages are not version-pinned on purpose: the base image tag fixes the
# distribution release, and exact pins would break as soon as Ubuntu ships a security update.
# hadolint ignore=DL3008
RUN if ! command -v python3 >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -m venv "$VIRTUAL_ENV"

WORKDIR /opt/gkeras
COPY pyproject.toml README.md ./
COPY gkeras ./gkeras
COPY kernels ./kernels
COPY examples ./examples

# "./[cuda12]" with extras; an empty GKERAS_EXTRAS gives plain "./" rather than ".[]".
RUN python -m pip install --no-cache-dir "./${GKERAS_EXTRAS:+[${GKERAS_EXTRAS}]}"

# An unprivileged user with a fixed numeric id (1000 is taken by "ubuntu" on Ubuntu 24.04).
# CuPy caches compiled kernels under CUPY_CACHE_DIR; mount /cache to keep them across runs.
RUN useradd --uid 10001 --user-group --no-log-init --create-home --shell /usr/sbin/nologin gkeras \
    && mkdir -p /cache/cupy \
    && chown -R 10001:10001 /cache
VOLUME /cache

ENV HOME=/home/gkeras
USER 10001:10001
WORKDIR /home/gkeras

CMD ["sh", "-c", "python -m gkeras && python /opt/gkeras/examples/six_steps_iris.py"]
