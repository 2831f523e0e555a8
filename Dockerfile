# voicewire's provider simulators in a container: `voicewire serve` on 0.0.0.0:8080.
#
#   docker build -t voicewire .
#   docker run --rm -p 127.0.0.1:8080:8080 -e VOICEWIRE_CONTROL_TOKEN=change-me voicewire
#   voicewire journal --token change-me          # from the host (default URL: port 8080)
#   docker exec CONTAINER voicewire journal      # inside, the token is in the environment
#
# serve must listen on 0.0.0.0 for a published port to reach it, and so faces whatever
# network the container is on: it prints a warning saying so (publish on 127.0.0.1, as above,
# to keep the port to this machine). Anyone reaching the port can call the protocol endpoints
# with the printed API key and secret (--api-key/--api-secret change them); the control API
# wants the control token (VOICEWIRE_CONTROL_TOKEN, else a random one shown by `docker logs`).
# Arguments after the image name replace serve's: `docker run ... voicewire serve --scenario
# /scenarios/weather.yaml --host 0.0.0.0 --port 8080` (mount the file), or `... voicewire list`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# voicewire from the build context (it is not on a package index): the files the wheel is
# built from, installed, then removed.
WORKDIR /tmp/voicewire
COPY pyproject.toml README.md LICENSE ./
COPY reference/ reference/
COPY simulators/ simulators/
COPY suites/ suites/
COPY harness/ harness/
RUN pip install . \
    && cd / \
    && rm -rf /tmp/voicewire \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin voicewire

USER voicewire
WORKDIR /home/voicewire

EXPOSE 8080
# Liveness without the token: /__voicewire/health is open. The image has no curl: Python asks.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/__voicewire/health', timeout=2)"]

ENTRYPOINT ["voicewire"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
