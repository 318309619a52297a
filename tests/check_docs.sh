#!/bin/sh
# tests/check_docs.sh - docs/configuration.md must document exactly the
# parameters of lib/params.def, each with the same default.
# A parameter row is a Markdown table row "| name | default | description |"
# in a table whose header row is "| Parameter | Default | Description |";
# an empty default is written "(empty)", a "|" in a cell as "\|", and a
# default may be wrapped in backquotes.  Prints every disagreement and exits
# 1 if there is one.  Usage: sh tests/check_docs.sh [params.def [doc.md]]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
def=${1:-$top/lib/params.def}
doc=${2:-$top/docs/configuration.md}
exec /usr/bin/python3 - "$def" "$doc" <<'PY'
import ast, re, sys

def_path, doc_path = sys.argv[1], sys.argv[2]
bad = []
for path in (def_path, doc_path):
    try:
        open(path, encoding="utf-8").close()
    except OSError as e:
        print(f"check_docs: {path}: {e.strerror}")
        sys.exit(1)

params = {}
pat = re.compile(r'^\s*PARAM\(\s*(\w+)\s*,\s*(\w+)\s*,\s*("(?:[^"\\]|\\.)*")\s*,')
for n, line in enumerate(open(def_path, encoding="utf-8"), 1):
    if not line.lstrip().startswith("PARAM("):
        continue
    m = pat.match(line)
    if not m:
        bad.append(f"{def_path}:{n}: cannot read PARAM line")
        continue
    name, default = m.group(1), ast.literal_eval(m.group(3))
    if name in params:
        bad.append(f"{def_path}:{n}: {name} declared twice")
    params[name] = default

def cells(line):
    body = line.strip()[1:]
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]

documented = {}
in_table = False
for n, line in enumerate(open(doc_path, encoding="utf-8"), 1):
    s = line.strip()
    if not s.startswith("|"):
        in_table = False
        continue
    c = cells(s)
    if [x.lower() for x in c[:3]] == ["parameter", "default", "description"]:
        in_table = True
        continue
    if not in_table or all(set(x) <= set("-: ") for x in c):
        continue
    if len(c) != 3:
        bad.append(f"{doc_path}:{n}: parameter row needs 3 cells: {s}")
        continue
    name = c[0].strip("`")
    default = c[1]
    if len(default) >= 2 and default[0] == "`" and default[-1] == "`":
        default = default[1:-1]
    if default == "(empty)":
        default = ""
    if name in documented:
        bad.append(f"{doc_path}:{n}: {name} documented twice")
    documented[name] = (default, n)

for name, default in params.items():
    if name not in documented:
        bad.append(f"{name}: in params.def but not in {doc_path}")
    elif documented[name][0] != default:
        bad.append(f"{doc_path}:{documented[name][1]}: {name}: default "
                   f"\"{documented[name][0]}\" but params.def says \"{default}\"")
for name, (_, n) in documented.items():
    if name not in params:
        bad.append(f"{doc_path}:{n}: {name}: documented but not in params.def")

for b in bad:
    print("check_docs: " + b)
print(f"check_docs: {len(params)} parameters, {len(documented)} documented, "
      f"{len(bad)} problem(s)")
sys.exit(1 if bad else 0)
PY
