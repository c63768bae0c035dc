#!/usr/bin/python3
"""check_links.py: the repository stands alone.

    check_links.py SOURCE_DIR

Every Markdown link and image ([text](target), ![alt](target)) in a tracked .md file must be a
relative path that exists inside the repository (an anchor after # is allowed), never a URL or
an absolute path; and no tracked text file may name a path above the repository (../shared, or
the machine's /work/ folders). Prints every offence as FILE:LINE: what, and exits 1 if any.
Standard library only.
"""

import os
import re
import subprocess
import sys

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
OUTSIDE = re.compile(r"(\.\./shared/|/work/(shared|main)/)")
TEXT_SUFFIXES = (".md", ".py", ".cpp", ".hpp", ".toml", ".txt", ".cmake", ".sh", ".json")


def tracked(root):
    out = subprocess.run(["git", "-C", root, "ls-files"], capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (an exported tree): walk it
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
            for f in files:
                yield os.path.relpath(os.path.join(folder, f), root)
        return
    yield from out.stdout.splitlines()


def main():
    root = os.path.abspath(sys.argv[1])
    problems = []
    files = [f for f in tracked(root) if f.endswith(TEXT_SUFFIXES)]
    for rel in files:
        path = os.path.join(root, rel)
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for number, line in enumerate(lines, 1):
            if rel != "tests/check_links.py" and OUTSIDE.search(line):
                problems.append(f"{rel}:{number}: names a path outside the repository")
            if not rel.endswith(".md"):
                continue
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("/"):
                    problems.append(f"{rel}:{number}: link to '{target}' points outside the "
                                    "repository")
                    continue
                local = target.split("#", 1)[0]
                if not local:
                    continue  # an anchor in the same file
                resolved = os.path.normpath(os.path.join(os.path.dirname(path), local))
                if not resolved.startswith(root + os.sep) and resolved != root:
                    problems.append(f"{rel}:{number}: link to '{target}' leaves the repository")
                elif not os.path.exists(resolved):
                    problems.append(f"{rel}:{number}: link to '{target}': no such file")
    for p in problems:
        print(p)
    print(f"check_links.py: {len(files)} files, {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
