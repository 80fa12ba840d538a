#!/usr/bin/env python3
"""Checks generated CDA documents with the official ANS kit (../shared/conformance or
CONFORMANCE_DIR): DLU-EHPAD documents against the CDA XSD and the official DLU schematron
(validate_cda.py), other models (DLU-DOM, plan) against the CDA XSD, the common profile the
kit can check for them. Prints one line per file; exits 1 if any fails, 2 if it cannot run.

    check_cda.py DIR
"""
import os
import subprocess
import sys
from pathlib import Path

from lxml import etree

kit = Path(os.environ.get("CONFORMANCE_DIR", Path(__file__).resolve().parents[3] / "shared" / "conformance"))
if not (kit / "validate_cda.py").is_file():
    print(f"conformance kit not found in {kit}", file=sys.stderr)
    sys.exit(2)
schema = etree.XMLSchema(etree.parse(str(kit / "ans-cisis/infrastructure/cda/CDA_extended.xsd")))

failed = 0
files = sorted(Path(sys.argv[1]).glob("*.xml"))
if not files:
    print("no documents to check", file=sys.stderr)
    sys.exit(2)
for path in files:
    if ".dlu-ehpad." in path.name:
        run = subprocess.run([sys.executable, str(kit / "validate_cda.py"), str(path)], capture_output=True, text=True)
        last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr.strip()
        if run.returncode != 0:
            failed += 1
            print(f"FAIL {path.name}: official schematron\n{run.stdout}{run.stderr}")
        else:
            print(f"ok   {path.name}: XSD + official DLU-EHPAD-DLU schematron ({last})")
    else:
        document = etree.parse(str(path))
        if schema.validate(document):
            print(f"ok   {path.name}: CDA XSD")
        else:
            failed += 1
            print(f"FAIL {path.name}: CDA XSD")
            for error in schema.error_log:
                print(f"     line {error.line}: {error.message}")
sys.exit(1 if failed else 0)
