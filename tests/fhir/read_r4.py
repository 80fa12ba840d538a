"""Reads FHIR JSON files with an FHIR R4 (4.0.1) model that is not the gateway's own:
the `fhir.resources` 6.1 package (pydantic models generated from the R4 specification).
Unknown elements, wrong types and missing required elements are errors.

Usage: read_r4.py FILE...   (a resource, a Bundle or a JSON array of them per file; exit 1
                            on the first error)
"""
import json
import sys

import fhir.resources
from fhir.resources import construct_fhir_element

if fhir.resources.__fhir_version__ != "4.0.1":
    sys.exit(f"fhir.resources models FHIR {fhir.resources.__fhir_version__}, not 4.0.1")

for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    for item in data if isinstance(data, list) else [data]:
        try:
            resource = construct_fhir_element(item["resourceType"], item)
        except Exception as error:  # the model's validation error names the element
            sys.exit(f"{path}: not FHIR R4: {error}")
        entries = getattr(resource, "entry", None) or []
        kinds = [entry.resource.resource_type for entry in entries if entry.resource is not None]
        print(f"{path}: FHIR R4 {resource.resource_type}" + (f" of {', '.join(kinds)}" if kinds else ""))
