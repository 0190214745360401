# Two commands for a newcomer: `make run` (the whole system with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev lint lint-imports messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo ""
	@echo "  Fiscaliza: http://$(HOST):$(PORT)/"
	@echo "  Admin:     http://$(HOST):$(PORT)/admin/"
	@echo "  Coordinadora: usuario 'coordinadora', contraseña 'fiscaliza-demo'"
	@echo "  Responsable (lead): usuario 'responsable', contraseña 'fiscaliza-demo'"
	@echo "  SMS de desarrollo: http://$(HOST):$(PORT)/dev/sms/"
	@echo ""
	$(BIN)/uvicorn backend.asgi:application --host $(HOST) --port $(PORT) --log-level warning

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy backend api sms
	$(BIN)/lint-imports

# The layer contracts of pyproject.toml ([tool.importlinter]); CI runs them before the tests.
lint-imports: install-dev
	$(BIN)/lint-imports

# Regenerate and compile translations (needs GNU gettext); the compiled .mo files are committed.
messages: install-dev
	$(BIN)/python manage.py makemessages -l es_AR -l en --no-location \
		--ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=build
	$(BIN)/python manage.py compilemessages --ignore=.venv

bench: install-dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var
