# The two commands a newcomer needs: `make run` (sample site on SQLite) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# `PORT=8001 make run` serves on another port.
PORT ?= 8000
# The real corpus (data, never copied in) and its own database, apart from the samples'.
CORPUS ?= ../shared/corpus
CORPUS_DATABASE_URL ?= sqlite:///$(CURDIR)/corpus.sqlite3

.PHONY: run test lint install check corpus corpus-run clean lighthouse

# Development installs both lists; a deployment installs requirements.txt only.
$(VENV)/installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(VENV)/installed

define LOGIN_HINT
@echo "To log in at http://127.0.0.1:$(PORT)/admin/, first make a user:"
@echo "  $(1)$(PY) manage.py createsuperuser          # an administrator"
@echo "  $(1)$(PY) manage.py create_editor NAME       # an editor (staff, Editors group)"
endef

# Exits 0 when the database holds articles imported from files outside fixtures/ (the corpus,
# say): `make run` then serves it as it is rather than adding the sample articles to it.
HOLDS_OTHER_IMPORTS := from articles.models import Article; import sys; \
  sys.exit(0 if Article.objects.exclude(source_path="") \
  .exclude(source_path__contains="/fixtures/learn/").exists() else 1)

run: install
	$(PY) manage.py migrate --noinput
	@if $(PY) manage.py shell -v 0 -c '$(HOLDS_OTHER_IMPORTS)'; then \
	  echo "This database holds articles imported from outside fixtures/ (the corpus?):"; \
	  echo "serving it as it is, without adding the sample articles to it."; \
	else \
	  $(PY) manage.py import_articles fixtures/learn --subjects fixtures/subjects.json && \
	  $(PY) manage.py import_redirects fixtures/moved-questions.json; \
	fi
	$(call LOGIN_HINT,$(if $(DATABASE_URL),DATABASE_URL=$(DATABASE_URL) ))
	$(call SERVE_WITH_WORKER)

# The dev server with a background worker beside it (large imports run there); the worker
# stops when the server does (Ctrl-C), after the job it is running, if any.
define SERVE_WITH_WORKER
DEBUG=1 $(PY) manage.py db_worker --no-startup-delay & worker=$$!; \
trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)
endef

test: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (configured in pyproject.toml): lint findings and files not formatted; both run.
lint: install
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	exit $$status

# The real corpus goes into its own database, corpus.sqlite3 (CORPUS_DATABASE_URL), never
# into the samples' db.sqlite3; `make corpus-run` serves it.
corpus corpus-run: export DATABASE_URL = $(CORPUS_DATABASE_URL)

corpus: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_articles $(CORPUS)/learn --subjects $(CORPUS)/subjects.json
	$(PY) manage.py import_redirects $(CORPUS)/moved-questions.json

corpus-run: install
	$(PY) manage.py migrate --noinput
	$(call LOGIN_HINT,DATABASE_URL=$(CORPUS_DATABASE_URL) )
	$(call SERVE_WITH_WORKER)

# Lighthouse (npm, Chromium) on an article served by gunicorn; not part of `make test`.
lighthouse: install
	$(PY) manage.py lighthouse $(LIGHTHOUSE_ARGS)

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm
	rm -f corpus.sqlite3 corpus.sqlite3-wal corpus.sqlite3-shm
