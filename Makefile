SHELL := /bin/bash

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
	@.venv/bin/python tools/gen_readme.py

lint:
	@.venv/bin/pre-commit run --all-files
