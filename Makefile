# Corkboard: `make run` starts the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app webapp
# Outside debug mode Corkboard needs a secret key: yours, or one generated once per install.
WITH_SECRET = SECRET_KEY="$${SECRET_KEY:-$$(cat instance/secret_key)}"
VENDOR := static/vendor

.PHONY: run dev test screenshots setup db chromium services bench clean

# Where `make run` and `make dev` listen: `make dev PORT=8001`, or HOST and PORT in the environment.
HOST ?= 127.0.0.1
PORT ?= 8000
# The command `make dev` runs after its set-up (tests/test_dev_server.py starts the same one).
DEV_SERVER = FLASK_DEBUG=1 PAGE_CACHE=0 $(BIN)/python -m webapp.serve -c hypercorn.toml --reload --bind $(HOST):$(PORT)

# Logs are JSON lines unless LOG_FORMAT says otherwise (LOG_FORMAT=text).
run: setup db
	$(WITH_SECRET) LOG_FORMAT="$${LOG_FORMAT:-json}" $(BIN)/hypercorn -c hypercorn.toml --bind $(HOST):$(PORT) webapp.asgi:app

# The ASGI app `make run` serves (so live updates work), in debug mode: restarted when a .py file
# changes, templates read afresh (and no board page cached, so an edited template shows at once),
# Werkzeug's debugger on errors (its PIN is in the log).
dev: setup db
	$(DEV_SERVER)

test: setup chromium
	$(BIN)/pytest $(PYTEST_ARGS)

# The README's pictures of the demo board (docs/screenshot-{board,card,phone,dark}.png), taken in Chromium.
screenshots: setup chromium
	CORKBOARD_SCREENSHOTS=docs $(BIN)/pytest -q e2e/test_screenshot.py

setup: $(VENV)/.installed $(VENDOR)/.installed static/dist/manifest.json

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(VENDOR)/.installed: package.json package-lock.json webapp/icons.py $(VENV)/.installed
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js \
	   node_modules/htmx-ext-sse/dist/sse.min.js \
	   node_modules/sortablejs/Sortable.min.js \
	   $(VENDOR)/
	mkdir -p $(VENDOR)/swagger-ui && cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR)/swagger-ui/
	$(BIN)/python -m webapp.icons node_modules/lucide-static/icons $(VENDOR)/icons.svg
	touch $@

# Our stylesheets and scripts, joined, minified and named by their content (webapp/assets.py).
static/dist/manifest.json: $(VENV)/.installed $(VENDOR)/.installed webapp/assets.py $(wildcard static/*.css static/*.js)
	$(BIN)/python -m webapp.assets static

db: setup instance/secret_key
	$(WITH_SECRET) $(FLASK) db upgrade
	$(WITH_SECRET) $(FLASK) seed-demo --if-empty

instance/secret_key:
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $@

chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

bench: setup
	$(BIN)/python bench/board_page.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) static/dist
