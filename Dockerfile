# Steward: a slim image running `steward run` as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STEWARD_DATA_DIR=/var/lib/steward STEWARD_CONFIG=/etc/steward/config.toml

RUN useradd --system --create-home --home-dir /home/steward steward \
    && mkdir -p /var/lib/steward /etc/steward && chown steward /var/lib/steward

WORKDIR /app
COPY pyproject.toml README.md ./
COPY app ./app
COPY bot ./bot
COPY adapters ./adapters
COPY rituals ./rituals
COPY storage ./storage
RUN pip install .

USER steward
VOLUME ["/var/lib/steward"]
EXPOSE 3000
STOPSIGNAL SIGTERM
CMD ["steward", "run"]
