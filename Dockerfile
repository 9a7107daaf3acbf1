# The BSS image: gunicorn serves the portal; the same image runs the Celery worker and beat.

# Front-end libraries come from npm at build time; only node_modules reaches the image.
FROM python:3.11-slim AS frontend
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json .npmrc ./
RUN npm install --no-audit --no-fund --omit=dev

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/var/media \
    STATICFILES_STORAGE=whitenoise.storage.CompressedManifestStaticFilesStorage \
    WEB_CONCURRENCY=3
# Pango renders invoice and offer PDFs (WeasyPrint); DejaVu gives it a real font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 bss
WORKDIR /app
COPY . .
COPY --from=frontend /app/node_modules ./node_modules
# Editable install: settings find templates/ and static/ next to the code in /app.
RUN pip install -e . \
    && python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /app/var/media \
    && chown -R bss:bss /app/var
USER bss
EXPOSE 8000
CMD ["gunicorn", "bss.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--no-control-socket"]
