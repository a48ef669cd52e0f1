# The two commands a newcomer needs: `make run` (sample site on SQLite) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install check corpus clean lighthouse

$(VENV)/installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_articles fixtures/learn --subjects fixtures/subjects.json
	$(PY) manage.py import_redirects fixtures/moved-questions.json
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

corpus: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_articles ../shared/corpus/learn --subjects ../shared/corpus/subjects.json
	$(PY) manage.py import_redirects ../shared/corpus/moved-questions.json

# Lighthouse (npm, Chromium) on an article served by gunicorn; not part of `make test`.
lighthouse: install
	$(PY) manage.py lighthouse $(LIGHTHOUSE_ARGS)

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm
