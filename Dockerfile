# Steward: a slim image running `steward run` as a non-root user.
# The base is a build argument: any Debian-like image with Python 3.11+ and pip (see `make image`).
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STEWARD_DATA_DIR=/var/lib/steward STEWARD_CONFIG=/etc/steward/config.toml

RUN useradd --system --create-home --home-dir /home/steward steward \
    && mkdir -p /var/lib/steward /etc/steward && chown steward /var/lib/steward

WORKDIR /app
COPY pyproject.toml README.md manifest.yml config.example.toml ./
COPY app ./app
COPY bot ./bot
COPY adapters ./adapters
COPY rituals ./rituals
COPY storage ./storage
RUN pip install .

USER steward
VOLUME ["/var/lib/steward"]
EXPOSE 3000 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=3).status != 200)"
STOPSIGNAL SIGTERM
CMD ["steward", "run"]
