SHELL := /bin/bash
VENV ?= .venv

.PHONY: demo test bench lint pot readme

demo:
	@bash tools/demo.sh

test:
	@bash tools/test.sh

bench:
	@bash tools/bench.sh

pot:
	@bash tools/pot.sh

readme:
	@$(VENV)/bin/python tools/gen_readme.py

lint:
	@$(VENV)/bin/pre-commit run --all-files
