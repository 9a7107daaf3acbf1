"""Compile the shipped gettext catalogs (.po) into the .mo files Django reads.

    python -m bss.setup.languages.compile [LOCALE_DIR]

Babel does the work, so no GNU gettext is needed at set-up. Fuzzy entries are left
out, as gettext would. A translation whose %(name)s placeholders differ from its
source would break the page that formats it, so such a catalog is refused (exit 1)
and its old .mo is left as it was.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DEFAULT_LOCALE_DIR = Path(__file__).resolve().parents[3] / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]")


def placeholder_problems(po_path: Path) -> list[str]:
    with open(po_path, "rb") as po_file:
        catalog = read_po(po_file)
    problems = []
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        translations = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(
            set(PLACEHOLDER.findall(sources[-1])) | set(PLACEHOLDER.findall(sources[0]))
        )
        for translation in translations:
            if translation and sorted(set(PLACEHOLDER.findall(translation))) != expected:
                problems.append(
                    f"{po_path}:{message.lineno}: placeholders differ in {sources[0]!r}"
                )
    return problems


def compile_catalogs(locale_dir: Path) -> int:
    failures = 0
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        problems = placeholder_problems(po_path)
        if problems:
            failures += 1
            for problem in problems:
                print(problem, file=sys.stderr)
            continue
        with open(po_path, "rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parts[-3])
        catalog.fuzzy = False
        with open(po_path.with_suffix(".mo"), "wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        print(f"compiled {po_path.with_suffix('.mo')}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(compile_catalogs(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_LOCALE_DIR))
