"""``python -m bpviz``: the same as the ``bpviz`` command."""

from bpviz.cli import main

if __name__ == "__main__":  # importing this module (a test walking the package) runs nothing
    raise SystemExit(main())
