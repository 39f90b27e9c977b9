SHELL := /bin/bash

.PHONY: demo test bench lint

demo:
	@bash tools/demo.sh

test:
	@bash tools/test.sh

bench:
	@bash tools/bench.sh

lint:
	@.venv/bin/pre-commit run --all-files
