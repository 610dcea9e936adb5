# nbshare's service image (docs/operating.md). Build it from the repository root:
#   docker build -t nbshare:0.1.0 .
# The base is pinned by version; pin it by digest too (python:3.11.13-slim-bookworm@sha256:...)
# where builds must be reproducible.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The service runs as a user of its own, which owns nothing but the data volume.
RUN groupadd --system --gid 10001 nbshare \
    && useradd --system --uid 10001 --gid nbshare --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin nbshare \
    && mkdir /data \
    && chown nbshare:nbshare /data \
    && chmod 0700 /data

# The service and PostgreSQL's driver, from this source tree. The JupyterLab frontend is not
# built (SKIP_JUPYTER_BUILDER): the service does not serve it, and it would need node.
# DL3013 asks for pinned versions: "." is this tree, whose pyproject.toml bounds every
# dependency.
WORKDIR /src
COPY pyproject.toml README.md install.json ./
COPY jupyter-config ./jupyter-config
COPY src ./src
# hadolint ignore=DL3013
RUN SKIP_JUPYTER_BUILDER=1 pip install --no-cache-dir ".[server,postgres]" \
    && rm -rf /src

# Every setting is an NBSHARE_* variable (docs/settings.md); these make the image's shape:
# listen on every interface of the container, on 8000, with data in the volume. The public
# URL suits `docker run -p 8000:8000` on one's own machine (links would otherwise name
# 0.0.0.0); a real deployment sets the address people use.
ENV NBSHARE_HOST=0.0.0.0 \
    NBSHARE_PORT=8000 \
    NBSHARE_DATA_DIR=/data \
    NBSHARE_PUBLIC_URL=http://localhost:8000
VOLUME ["/data"]
EXPOSE 8000
WORKDIR /data
USER 10001:10001

# Liveness only: /healthz touches neither the database nor the blob store, so an outage
# there does not mark every instance unhealthy; orchestrators ask /readyz for readiness.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["nbshare", "serve"]
