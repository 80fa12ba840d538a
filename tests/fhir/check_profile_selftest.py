#!/usr/bin/env python3
"""Self-test of check_profile.py (Python 3.11 standard library only).

1. The guides' own example instances, vendored beside their StructureDefinitions, must
   pass (exit 0, "OK" for every profiled resource).
2. Deliberately broken copies of those examples must fail (exit 1) with the expected
   message.

Usage: python3 tests/fhir/check_profile_selftest.py   (from anywhere in the repository)
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CHECKER = os.path.join(HERE, "check_profile.py")
ROR = os.path.join(ROOT, "schemas", "ror", "structure-definitions")
SDO = os.path.join(ROOT, "schemas", "viatrajectoire", "structure-definitions")
CDL = os.path.join(ROOT, "schemas", "regions", "structure-definitions")
ROR_URL = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"


def run(sd_dir: str, path: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, CHECKER, "--sd-dir", sd_dir, path],
                          capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def load(directory: str, name: str) -> dict:
    with open(os.path.join(directory, "examples", name), encoding="utf-8") as handle:
        return json.load(handle)


def ext(resource: dict, url: str) -> dict:
    return next(e for e in resource["extension"] if e["url"] == url)


def broken_cases() -> list[tuple[str, str, dict, list[str]]]:
    """(name, sd dir, broken resource, expected fragments of the output)."""
    cases = []

    hs = load(ROR, "HealthcareService-1234564.json")
    two_days = copy.deepcopy(hs)
    two_days["availableTime"][0]["daysOfWeek"] = ["mon", "tue"]
    cases.append(("two days in one horaire", ROR, two_days, [
        "HealthcareService/1234564: HealthcareService.availableTime[0].daysOfWeek: maximum cardinality 1 exceeded: found 2"]))

    no_sensitive = copy.deepcopy(hs)
    no_sensitive["extension"] = [e for e in no_sensitive["extension"]
                                 if e["url"] != ROR_URL + "ror-healthcareservice-sensitive-unit"]
    cases.append(("missing uniteSensible", ROR, no_sensitive, [
        "HealthcareService.extension:ror-healthcareservice-sensitive-unit: minimum cardinality 1 not met: found 0"]))

    day_as_string = copy.deepcopy(hs)
    number = ext(day_as_string["availableTime"][2], ROR_URL + "ror-available-time-number-days-of-week")
    number["valueString"] = str(number.pop("valueInteger"))
    bad_patient = day_as_string  # one resource, two broken extensions
    patient = ext(bad_patient, ROR_URL + "ror-healthcareservice-patient-type")
    patient["extension"] = [e for e in patient["extension"] if e["url"] != "ageRange"]
    patient["valueString"] = "adultes"
    cases.append(("wrong extension contents", ROR, bad_patient, [
        "HealthcareService.availableTime[2].extension[0](Extension RORAvailableTimeNumberDaysofWeek).valueString: type string not allowed, the profile allows integer",
        "(Extension RORHealthcareServicePatientType).extension:ageRange: minimum cardinality 1 not met: found 0",
        "(Extension RORHealthcareServicePatientType).value[x]: maximum cardinality 0 exceeded: found 1"]))

    territory = copy.deepcopy(hs)
    territory["extension"].append({
        "url": ROR_URL + "ror-territorial-division",
        "extension": [
            {"url": "typeTerritorialDivision", "valueCodeableConcept": {"coding": [{
                "system": "https://mos.esante.gouv.fr/NOS/TRE_R201-TypeDivisionTerritoriale/FHIR/TRE-R201-TypeDivisionTerritoriale",
                "code": "4"}]}},
            {"url": "codeTerritorialDivision", "valueCodeableConcept": {"coding": [{"code": "72"}]}}]})
    cases.append(("zoneIntervention of the wrong type", ROR, territory, [
        "HealthcareService.extension[5].extension[0].valueCodeableConcept: patternCodeableConcept"]))

    location = load(ROR, "Location-ror-location-exemple.json")
    location["identifier"] = [{"type": {"coding": [{"code": "26"}]}, "value": "a/1"},
                              {"type": {"coding": [{"code": "26"}]}, "value": "a/2"}]
    cases.append(("two idExterneSynchro", ROR, location, [
        "Location.identifier:idExterneSynchro: maximum cardinality 1 exceeded: found 2"]))

    task = load(SDO, "Task-exemple-esms-task.json")
    task["status"] = "requested"
    task["input"] = [i for i in task["input"] if i["type"]["coding"][0]["code"] != "nomESMS"]
    cases.append(("ESMSTask: status and nomESMS", SDO, task, [
        "Task.status: patternCode \"completed\" not matched by \"requested\"",
        "Task.input:nomESMS: minimum cardinality 1 not met: found 0"]))

    bundle = load(CDL, "Bundle-cdl-bundle-creation-note.json")
    note = bundle["entry"][0]["resource"]
    note["extension"] = [{"url": "https://interop.esante.gouv.fr/ig/fhir/cdl/StructureDefinition/cdl-ext-is-emergency",
                          "valueString": "oui"}]
    note["docStatus"] = "final"
    cases.append(("CdL note: isEmergency and docStatus", CDL, bundle, [
        "(Extension CdL_isEmergency).valueString: type string not allowed, the profile allows boolean",
        "DocumentReference.docStatus: maximum cardinality 0 exceeded: found 1"]))
    return cases


def main() -> int:
    passed = failed = 0

    def verdict(ok: bool, what: str, output: str) -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {what}")
        else:
            failed += 1
            print(f"FAIL {what}\n" + "".join(f"     | {line}\n" for line in output.splitlines()))

    for sd_dir in (ROR, SDO, CDL):
        examples = os.path.join(sd_dir, "examples")
        for name in sorted(os.listdir(examples)):
            code, output = run(sd_dir, os.path.join(examples, name))
            checked = [line for line in output.splitlines() if ": checked against " in line]
            ok = code == 0 and checked and all(line.endswith(": OK") for line in checked)
            verdict(bool(ok), f"guide example {os.path.relpath(os.path.join(examples, name), ROOT)} passes", output)

    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, sd_dir, resource, expected) in enumerate(broken_cases()):
            path = os.path.join(tmp, f"broken-{index}.json")
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(resource, handle, ensure_ascii=False, indent=2)
            code, output = run(sd_dir, path)
            missing = [e for e in expected if e not in output]
            verdict(code == 1 and not missing, f"broken copy fails: {name}" + (f" (missing: {missing})" if missing else ""), output)

    print(f"check_profile selftest: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
