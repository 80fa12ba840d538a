#!/usr/bin/env python3
"""Checks CDA documents with the official ANS testContenuCDA chain, as the kit's own
validator (`validate_cda.py --chain`, in ../shared/conformance or CONFORMANCE_DIR) runs it:
the CDA XSD, the four generic profiles (IHE, ModelesDeContenusCDA, StrucMin, Modeles_ANS),
then the model's schematron: CI-SIS_DLU-EHPAD-DLU_2022.01 for a file named `*.dlu-ehpad.xml`,
none for the others (the kit has no model for the DLU-DOM or the plan).

One run checks a whole directory: every schematron is compiled once (about 12 s), then
applied to each document (a fraction of a second each), with the kit's own functions, so the
findings are those `validate_cda.py --chain` prints for each file.

    check_cda.py DIR [--cross-check FILE]

Prints, for each file, `ok   NAME: ...` or `FAIL NAME: ...`, then its findings as the kit
formats them (`ERROR   [StrucMin] ...`, `WARNING [StrucMin] ...`). With `--cross-check`, FILE
(one of DIR's) is also run through `validate_cda.py --chain` itself and the two verdicts
compared. Exits 1 if a document has an error, 2 if the chain cannot run.
"""
import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

kit = pathlib.Path(os.environ.get("CONFORMANCE_DIR", pathlib.Path(__file__).resolve().parents[3] / "shared" / "conformance"))
if not (kit / "validate_cda.py").is_file():
    print(f"conformance kit not found in {kit}", file=sys.stderr)
    sys.exit(2)
sys.path.insert(0, str(kit))
import validate_cda as official  # noqa: E402  (the kit's validator, used as a library)

from lxml import etree  # noqa: E402

MODEL = "DLU-EHPAD-DLU_2022.01"


def model_of(path: pathlib.Path):
    return MODEL if ".dlu-ehpad." in path.name else None


class Chain:
    """The chain's stages, each compiled once."""

    def __init__(self, data_dir: pathlib.Path, tmp: pathlib.Path):
        xsd_path = data_dir / official.XSD_RELPATH
        self.schema = etree.XMLSchema(etree.parse(str(xsd_path), official._parser(etree)))
        self.saxon = official.Saxon()
        self.stages = {}
        steps = [(label, data_dir / "schematrons" / rel, None) for label, rel in official.PROFILES]
        steps.append((f"CI-SIS_{MODEL}", data_dir / "schematrons" / f"CI-SIS_{MODEL}.sch", MODEL))
        for label, sch, model in steps:
            xslt, _phase, _qb = official.compile_schematron(sch, model, None, etree)
            xslt_path = tmp / f"{label}.xsl"
            xslt_path.write_bytes(xslt)
            executable = self.saxon.xsltproc.compile_stylesheet(stylesheet_file=str(xslt_path))
            if executable is None:
                raise official.ToolError(f"{label}: Saxon could not compile the validation stylesheet")
            self.stages[label] = executable

    def check(self, path: pathlib.Path, tmp: pathlib.Path):
        doc, findings = official.parse_document(path, etree)
        if doc is None:
            return findings
        if not self.schema.validate(doc):
            findings += [official.Finding("error", "xsd", official._norm(e.message), line=e.line)
                         for e in self.schema.error_log]
        model = model_of(path)
        for label, executable in self.stages.items():
            if label.startswith("CI-SIS_") and model is None:
                continue
            svrl = tmp / f"{path.stem}.{label}.svrl"
            executable.transform_to_file(source_file=str(path.resolve()), output_file=str(svrl))
            sch_findings, stats = official.parse_svrl(svrl, doc, etree, label)
            if stats["active-patterns"] == 0:
                raise official.ToolError(f"{label}: no pattern active on {path.name}")
            findings += sch_findings
        return findings


def cross_check(path: pathlib.Path, errors: int):
    """The same file through `validate_cda.py --chain`: the same number of errors."""
    model = model_of(path) or "none"
    run = subprocess.run([sys.executable, str(kit / "validate_cda.py"), str(path), "--chain", "--model", model],
                         capture_output=True, text=True)
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr.strip()
    expected = f"conformance: {errors} errors,"
    if not last.startswith(expected):
        print(f"FAIL cross-check of {path.name}: validate_cda.py --chain says {last!r}, the batch run {errors} errors")
        return False
    print(f"ok   cross-check of {path.name}: validate_cda.py --chain agrees ({last})")
    return True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=pathlib.Path)
    ap.add_argument("--cross-check", type=pathlib.Path, default=None)
    args = ap.parse_args()
    files = sorted(args.dir.glob("*.xml"))
    if not files:
        print("no documents to check", file=sys.stderr)
        return 2
    failed = 0
    errors_of = {}
    try:
        with tempfile.TemporaryDirectory(prefix="check_cda_") as tmp:
            tmp = pathlib.Path(tmp)
            chain = Chain(official.DEFAULT_DATA_DIR, tmp)
            for path in files:
                findings = chain.check(path, tmp)
                errors = [f for f in findings if f.severity == "error"]
                warnings = [f for f in findings if f.severity == "warning"]
                errors_of[path.name] = len(errors)
                stages = "XSD + profiles" + (f" + CI-SIS_{model_of(path)}" if model_of(path) else "")
                summary = f"{stages}: {len(errors)} errors, {len(warnings)} warnings"
                if errors:
                    failed += 1
                    print(f"FAIL {path.name}: {summary}")
                else:
                    print(f"ok   {path.name}: {summary}")
                for finding in errors + warnings:
                    print(finding.format())
    except official.ToolError as exc:
        print(f"the official chain could not run: {exc}", file=sys.stderr)
        return 2
    if args.cross_check is not None:
        name = args.cross_check.name
        if name not in errors_of or not cross_check(args.dir / name, errors_of[name]):
            return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
