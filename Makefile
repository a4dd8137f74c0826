.PHONY: run test lint typecheck migrate seed

run:        ## migrate, seed the sandbox and serve (embedded PostgreSQL unless DATABASE_URL is set)
	./scripts/run

test:       ## the whole test suite, then ruff and mypy
	./scripts/test

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy app

migrate:
	.venv/bin/cpd-api migrate

seed:
	.venv/bin/cpd-api seed

