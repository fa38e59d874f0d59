# The two commands of the README:
#   make book   set up .venv and build the book (HTML in _build/html)
#   make test   set up .venv and run every test (library, notebooks, book build, site, Colab path)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup book test test-fast notebooks assignments grade bench clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)

book: setup
	$(BIN)/jupyter-book build . -W --keep-going

test: setup
	$(BIN)/python -m pytest tests book --nbval --nbval-current-env \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg --durations=15

# Library tests only (quick feedback while developing).
test-fast: setup
	$(BIN)/python -m pytest tests -m "not slow"

# Re-execute the chapters and store their outputs (run after editing a notebook).
notebooks: setup
	$(BIN)/python scripts/setup_cell.py
	$(BIN)/jupyter execute --inplace book/[0-9]*.ipynb book/appendix/*.ipynb
	$(BIN)/python scripts/strip_widget_state.py book/[0-9]*.ipynb book/appendix/*.ipynb

# Generate the graded assignments' student versions (committed) and autograders (ignored).
assignments: setup
	$(BIN)/python scripts/assignments.py build

# Grade a folder of submissions: make grade A=a1_contractions S=submissions/ [OUT=scores.csv]
grade: setup
	$(BIN)/python scripts/grade.py $(A) $(S) --out $(or $(OUT),scores.csv)

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf _build
