# tourplanner: the two set-up commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi.py

.PHONY: run prod test lint bench db translations extract-messages system-deps worker clean help lock

help:
	@echo "make run    - set up .venv, migrate and seed the database (with demo data), serve on http://$(HOST):$(PORT)"
	@echo "make prod   - the production set-up here: PostgreSQL, Redis, gunicorn, Celery workers and beat"
	@echo "make test   - set up .venv and the test services, run the whole test suite"
	@echo "make lint   - ruff check and ruff format --check (make test runs it first)"
	@echo "make bench  - benchmarks (prints ratios against peers/baselines)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.bench: requirements-bench.txt $(VENV)/.dev
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

translations: $(VENV)/.runtime
	$(BIN)/pybabel compile --statistics -d translations

extract-messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location -o translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i translations/messages.pot -d translations

db: $(VENV)/.runtime
	$(BIN)/flask db upgrade
	$(BIN)/flask seed --demo

run: $(VENV)/.runtime translations db
	$(BIN)/python -c "from tourplanner.routing.kernels import warm_up; warm_up()"
	$(BIN)/flask run --host $(HOST) --port $(PORT)

# The production set-up on this machine (scripts/prod.sh): PostgreSQL, Redis, gunicorn, Celery
# workers and beat; Ctrl-C stops it all.
prod: $(VENV)/.runtime translations
	bash scripts/prod.sh

# One worker for a development machine with REDIS_URL: notifications and plans (both queues)
# and the beat. Production runs them apart (Procfile).
worker: $(VENV)/.runtime
	$(BIN)/celery -A tasks.worker worker -Q celery,plans --beat --loglevel INFO

system-deps:
	bash scripts/install-system-deps.sh

test: $(VENV)/.dev translations system-deps lint
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.bench translations
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit $$?; done

clean:
	rm -rf $(VENV) instance/*.sqlite3 translations/*/LC_MESSAGES/*.mo

# The locks: requirements.txt (runtime) and requirements-dev.txt (tests) with every transitive
# dependency pinned and hashed, compiled from the short *.in files with pip-tools.
PIP_COMPILE = $(VENV)/tools/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-find-links --no-emit-index-url
lock:
	[ -x $(VENV)/tools/bin/pip-compile ] || { $(PYTHON) -m venv $(VENV)/tools && \
		$(VENV)/tools/bin/pip install --quiet pip-tools==7.6.2; }
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in
