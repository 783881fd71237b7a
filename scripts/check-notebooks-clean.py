#!/usr/bin/python3
"""check-notebooks-clean.py NB.ipynb... — fail if a committed notebook has
outputs or execution counts (they must be stripped before commit:
`jupyter nbconvert --clear-output --inplace NB.ipynb`)."""
import json
import sys

bad = []
for path in sys.argv[1:]:
    with open(path) as f:
        nb = json.load(f)
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            bad.append(f"{path}: cell {i} has {len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            bad.append(f"{path}: cell {i} has execution_count {cell['execution_count']}")
if bad:
    print("notebooks must be committed without outputs; run\n"
          "  jupyter nbconvert --clear-output --inplace notebooks/*.ipynb\n"
          + "\n".join(bad), file=sys.stderr)
    sys.exit(1)
