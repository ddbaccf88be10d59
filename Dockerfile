# Steward: a slim image running `steward run` as a non-root user (`make image` builds it and starts it).
# The base is a build argument: any Debian-like image with Python 3.11+ as `python3` and its `venv` module
# (python:3.11-slim by default; `make image` uses one made from Debian packages with debootstrap).
# Two stages: the first installs Steward into a virtual environment, the second copies only that
# environment, so the image holds no compiler, no pip cache and no source tree (and no pip beyond the base's).
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/steward
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY bot ./bot
COPY adapters ./adapters
COPY rituals ./rituals
COPY storage ./storage
# No dependency needs a compiler on x86_64 (wheels, or pure Python). Behind a proxy that
# re-signs TLS, hand pip its CA bundle as a build secret (`--secret id=pip_ca,src=FILE`): it is never stored
# in a layer. pip and setuptools leave the environment once it is installed.
RUN --mount=type=secret,id=pip_ca \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi \
    && /opt/steward/bin/pip install . \
    && /opt/steward/bin/pip uninstall --yes pip setuptools

FROM ${BASE}
ENV PATH=/opt/steward/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    STEWARD_DATA_DIR=/var/lib/steward STEWARD_CONFIG=/etc/steward/config.toml \
    STEWARD_HEALTH_URL=http://127.0.0.1:3000/healthz
RUN useradd --system --create-home --home-dir /home/steward --shell /usr/sbin/nologin steward \
    && mkdir -p /var/lib/steward /etc/steward && chown steward:steward /var/lib/steward
COPY --from=build /opt/steward /opt/steward
# The working directory holds the Slack app manifest (`steward doctor` compares its scopes) and the example config.
WORKDIR /app
COPY manifest.yml config.example.toml ./

USER steward
VOLUME ["/var/lib/steward"]
EXPOSE 3000 8080
# STEWARD_HEALTH_URL: the Slack endpoint's port by default; Matrix only or Socket Mode: [steward] http's
# (http://127.0.0.1:8080/healthz unless set otherwise).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
    CMD ["python3", "-c", "import os,sys,urllib.request; sys.exit(urllib.request.urlopen(os.environ['STEWARD_HEALTH_URL'], timeout=3).status != 200)"]
STOPSIGNAL SIGTERM
CMD ["steward", "run"]
