#!/bin/sh
# The README's scheme table is `initbench schemes --markdown`: fail if it has drifted.
# usage: check_readme_schemes.sh INITBENCH README.md
set -eu
expected=$("$1" schemes --markdown)
actual=$(sed -n '/<!-- BEGIN schemes/,/<!-- END schemes -->/p' "$2" | sed '1d;$d')
if [ "$expected" != "$actual" ]; then
  echo "README.md's scheme table is out of date: regenerate it with \`initbench schemes --markdown\`" >&2
  printf '%s\n' "$expected" > "${TMPDIR:-/tmp}/initbench-schemes.md"
  printf '%s\n' "$actual" | diff - "${TMPDIR:-/tmp}/initbench-schemes.md" >&2 || true
  exit 1
fi
echo "README scheme table is current ($(printf '%s\n' "$expected" | wc -l) lines)"
