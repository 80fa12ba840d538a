#!/usr/bin/env python3
"""Checks FHIR R4 JSON resources against the StructureDefinitions of the ANS guides.

An independent checker (Python 3.11 standard library only): it reads the profiles'
StructureDefinitions as published (schemas/*/structure-definitions/) and applies the
rules of their differential, and of their snapshot when the file has one. It is not a
full FHIR validator: it knows no base resource definitions, no FHIRPath invariants, and
checks bindings only against ValueSets found in the given directories.

Usage:
    check_profile.py --sd-dir DIR [--sd-dir DIR ...] [--profile URL] [-v] FILE.json ...

Each FILE is a resource, a Bundle (each entry.resource is checked, and the Bundle
itself when its profile is known) or a JSON array of them. The profile applied is the one named in meta.profile
that is among the loaded StructureDefinitions, or the one given with --profile.

What is checked, for every element of the differential (and snapshot):
  * min/max cardinality, relative to each occurrence of the parent element, including
    elements under slices and nested backbone elements;
  * slices: extension slices matched by url (the profile named by the slice's type, or
    the url fixed for a sub-extension), other slices matched by their discriminators
    (value/pattern) when the profile gives the discriminating value; a slice whose
    discriminating value the profile does not give cannot be counted (verbose note);
  * fixed[x] (equality) and pattern[x] (the instance contains the pattern);
  * the type of a choice element value[x] where the profile restricts it;
  * every extension whose url is a loaded extension definition is checked against
    that definition (value[x] type and cardinality, sub-extension slices, ...);
  * required bindings, when the ValueSet is among the loaded files (otherwise a
    "binding not checked" note in verbose mode, never a failure).

Output: one line per problem, "FILE: Type/id: path: what", then one summary line per
resource. Exit status 1 when any problem was found, 0 otherwise, 2 on usage errors.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

PRIMITIVES = {
    "base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id",
    "instant", "integer", "markdown", "oid", "positiveInt", "string", "time",
    "unsignedInt", "uri", "url", "uuid", "xhtml",
}
EXTENSION_URL = "http://hl7.org/fhir/StructureDefinition/Extension"


def strip_version(url: str) -> str:
    return url.split("|", 1)[0]


# --------------------------------------------------------------------------------------
# Loading definitions


class Registry:
    """The StructureDefinitions (by url) and ValueSets found in the given directories."""

    def __init__(self) -> None:
        self.sds: dict[str, dict] = {}
        self.valuesets: dict[str, dict] = {}
        self.sd_files: dict[str, str] = {}

    def load_dir(self, directory: str) -> None:
        if not os.path.isdir(directory):
            raise SystemExit(f"check_profile: {directory}: not a directory")
        for name in sorted(os.listdir(directory)):
            if not name.endswith(".json"):
                continue
            path = os.path.join(directory, name)
            try:
                with open(path, encoding="utf-8") as handle:
                    data = json.load(handle)
            except (OSError, ValueError) as error:
                raise SystemExit(f"check_profile: {path}: not JSON: {error}")
            kind = data.get("resourceType") if isinstance(data, dict) else None
            if kind == "StructureDefinition" and data.get("url"):
                self.sds[data["url"]] = data
                self.sd_files[data["url"]] = path
            elif kind == "ValueSet" and data.get("url"):
                self.valuesets[data["url"]] = data

    def sd(self, url: str) -> dict | None:
        return self.sds.get(strip_version(url))


class Profile:
    """A StructureDefinition's elements by id (snapshot overlaid with differential)."""

    def __init__(self, sd: dict) -> None:
        self.sd = sd
        self.url = sd["url"]
        self.version = sd.get("version", "?")
        self.type = sd.get("type")
        self.elements: dict[str, dict] = {}
        for element in (sd.get("snapshot") or {}).get("element", []):
            self.elements[element["id"]] = dict(element)
        for element in (sd.get("differential") or {}).get("element", []):
            merged = self.elements.setdefault(element["id"], {})
            merged.update(element)
        self.has_snapshot = bool(sd.get("snapshot"))


# --------------------------------------------------------------------------------------
# Instance navigation


class Node:
    """One occurrence of an element in an instance: its JSON value, the companion
    object of a primitive (`_name`, holding id/extension), its FHIRPath-like location,
    and the extension definition it follows (for extensions matched to a profile)."""

    __slots__ = ("value", "companion", "path", "ext_profile")

    def __init__(self, value, companion, path: str, ext_profile: str | None = None) -> None:
        self.value = value
        self.companion = companion
        self.path = path
        self.ext_profile = ext_profile

    def fields(self) -> dict:
        if isinstance(self.value, dict):
            return self.value
        return self.companion if isinstance(self.companion, dict) else {}


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def children(node: Node, name: str) -> list[Node]:
    """The occurrences of child element `name` (a plain name or a choice `x[x]`)."""
    fields = node.fields()
    if name.endswith("[x]"):
        prefix = name[:-3]
        keys = [k for k in fields if k.startswith(prefix) and len(k) > len(prefix)
                and k[len(prefix)].isupper()]
        keys += [k[1:] for k in fields if k.startswith("_" + prefix) and len(k) > len(prefix) + 1
                 and k[len(prefix) + 1].isupper() and k[1:] not in fields]
    else:
        keys = [name] if (name in fields or "_" + name in fields) else []
    out: list[Node] = []
    for key in keys:
        values = as_list(fields.get(key))
        companions = as_list(fields.get("_" + key))
        count = max(len(values), len(companions))
        many = isinstance(fields.get(key), list) or isinstance(fields.get("_" + key), list)
        for index in range(count):
            value = values[index] if index < len(values) else None
            companion = companions[index] if index < len(companions) else None
            if value is None and companion is None:
                continue
            path = f"{node.path}.{key}" + (f"[{index}]" if many else "")
            out.append(Node(value, companion, path))
    return out


def choice_type(node: Node, element_name: str) -> str | None:
    """The FHIR type of a value[x] occurrence, from its JSON key (valueString -> string)."""
    key = node.path.rsplit(".", 1)[-1].split("[", 1)[0]
    prefix = element_name[:-3]
    suffix = key[len(prefix):]
    if not suffix:
        return None
    lowered = suffix[0].lower() + suffix[1:]
    return lowered if lowered in PRIMITIVES else suffix


def contains(value, pattern) -> bool:
    """FHIR pattern matching: every property of the pattern is found in the value."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(key in value and contains(value[key], sub) for key, sub in pattern.items())
    if isinstance(pattern, list):
        values = value if isinstance(value, list) else [value]
        return all(any(contains(v, p) for v in values) for p in pattern)
    return value == pattern


def eval_path(values: list, path: list[str]) -> list:
    """Follows a dotted path (no FHIRPath functions) through plain JSON values."""
    current = values
    for step in path:
        following = []
        for value in current:
            if isinstance(value, dict):
                if step.endswith("[x]"):
                    prefix = step[:-3]
                    for key, item in value.items():
                        if key.startswith(prefix) and len(key) > len(prefix) and key[len(prefix)].isupper():
                            following.extend(as_list(item))
                else:
                    following.extend(as_list(value.get(step)))
        current = following
    return current


def fixed_or_pattern(element: dict) -> tuple[str, str, object] | None:
    for key, value in element.items():
        if key.startswith("fixed") and len(key) > 5:
            return "fixed", key, value
        if key.startswith("pattern") and len(key) > 7:
            return "pattern", key, value
    return None


# --------------------------------------------------------------------------------------
# Element ids


def split_id(element_id: str) -> list[tuple[str, str | None]]:
    """'A.b:s.c' -> [('A', None), ('b', 's'), ('c', None)] (dots inside [x] are none)."""
    parts = []
    for segment in element_id.split("."):
        name, _, slice_name = segment.partition(":")
        parts.append((name, slice_name or None))
    return parts


def join_id(parts: list[tuple[str, str | None]]) -> str:
    return ".".join(name + (f":{slice_name}" if slice_name else "") for name, slice_name in parts)


# --------------------------------------------------------------------------------------
# Checking


class Checker:
    def __init__(self, registry: Registry, verbose: bool) -> None:
        self.registry = registry
        self.verbose = verbose
        self.profiles: dict[str, Profile] = {}
        self.problems: list[str] = []
        self.notes: list[str] = []
        self._seen_notes: set[str] = set()

    def profile(self, url: str) -> Profile | None:
        sd = self.registry.sd(url)
        if sd is None:
            return None
        key = sd["url"]
        if key not in self.profiles:
            self.profiles[key] = Profile(sd)
        return self.profiles[key]

    def problem(self, path: str, what: str) -> None:
        self.problems.append(f"{path}: {what}")

    def note(self, what: str) -> None:
        if what not in self._seen_notes:
            self._seen_notes.add(what)
            self.notes.append(what)

    # -- slices -----------------------------------------------------------------------

    def slice_matcher(self, profile: Profile, parts: list[tuple[str, str | None]],
                      parent_ext_profile: str | None):
        """A function telling whether an instance node belongs to the slice named by the
        last part of `parts`, or None when the profile gives no way to tell."""
        slice_id = join_id(parts)
        element = profile.elements.get(slice_id, {})
        name, slice_name = parts[-1]
        if "/" in (slice_name or ""):
            slice_name = slice_name.split("/")[-1]
        if name in ("extension", "modifierExtension"):
            url = None
            for type_ in element.get("type", []):
                for target in type_.get("profile", []):
                    url = strip_version(target)
            if url is None:
                url_element = profile.elements.get(slice_id + ".url", {})
                found = fixed_or_pattern(url_element)
                if found:
                    url = found[2]
            if url is None and parent_ext_profile:
                ext = self.profile(parent_ext_profile)
                if ext:
                    found = fixed_or_pattern(ext.elements.get(f"Extension.extension:{slice_name}.url", {}))
                    if found:
                        url = found[2]
            if url is None:
                url = slice_name  # convention: a complex extension's slice is named by its url
            return (lambda node, url=url: isinstance(node.value, dict) and node.value.get("url") == url), url
        # other slices: the slicing's discriminators, with the values this slice fixes
        base_id = join_id(parts[:-1] + [(name, None)])
        slicing = profile.elements.get(base_id, {}).get("slicing")
        if slicing is None and parts[-1][1] and "/" in parts[-1][1]:
            slicing = profile.elements.get(join_id(parts[:-1] + [(name, parts[-1][1].split("/")[0])]), {}).get("slicing")
        if not slicing:
            self.note(f"{profile.url}: {slice_id}: no slicing definition in this profile (it is in the base profile), slice not counted")
            return None, None
        tests = []
        for discriminator in slicing.get("discriminator", []):
            test = self.discriminator_test(profile, slice_id, element, discriminator)
            if test is not None:
                tests.append(test)
        if not tests:
            paths = ", ".join(d.get("path", "?") for d in slicing.get("discriminator", []))
            self.note(f"{profile.url}: {slice_id}: the profile gives no value for the discriminator ({paths}), slice not counted")
            return None, None
        return (lambda node, tests=tests: all(test(node) for test in tests)), None

    def discriminator_test(self, profile: Profile, slice_id: str, slice_element: dict, discriminator: dict):
        kind = discriminator.get("type")
        path = discriminator.get("path", "")
        if kind not in ("value", "pattern"):
            return None
        if path == "$this":
            found = fixed_or_pattern(slice_element)
            if not found:
                return None
            expected = [found[2]]
            return lambda node: any(contains(node.value, e) for e in expected)
        if path.startswith("extension(") and path.endswith(")"):
            url = path[len("extension("):-1].strip("'\"")
            expected = []
            for element_id, element in profile.elements.items():
                if not element_id.startswith(slice_id + ".extension:"):
                    continue
                if element_id.count(".") != slice_id.count(".") + 1:
                    continue
                profiles = [p for t in element.get("type", []) for p in t.get("profile", [])]
                if url in map(strip_version, profiles):
                    found = fixed_or_pattern(profile.elements.get(element_id + ".value[x]", {}))
                    if found:
                        expected.append(found[2])
            if not expected:
                return None

            def test(node, url=url, expected=expected):
                values = [e for e in as_list(node.fields().get("extension"))
                          if isinstance(e, dict) and e.get("url") == url]
                values = eval_path(values, ["value[x]"])
                return any(contains(v, e) for v in values for e in expected)
            return test
        steps = path.split(".")
        for cut in range(len(steps), 0, -1):
            found = fixed_or_pattern(profile.elements.get(slice_id + "." + ".".join(steps[:cut]), {}))
            if found:
                expected = eval_path([found[2]], steps[cut:])
                if not expected:
                    return None

                def test(node, steps=steps, expected=expected):
                    values = eval_path([node.fields() if node.value is None else node.value], steps)
                    return any(contains(v, e) for v in values for e in expected)
                return test
        return None

    # -- resolution of element ids to instance nodes -----------------------------------

    def resolve(self, profile: Profile, root: Node, parts: list[tuple[str, str | None]]):
        """Parent occurrences of the element `parts`, each with the occurrences of the
        element under it. None when a slice on the way cannot be told apart."""
        contexts = [root]
        for depth in range(1, len(parts)):
            name, slice_name = parts[depth]
            pairs = []
            for context in contexts:
                found = children(context, name)
                if slice_name:
                    matcher, url = self.slice_matcher(profile, parts[:depth + 1], context.ext_profile)
                    if matcher is None:
                        return None
                    found = [n for n in found if matcher(n)]
                    if url:
                        for n in found:
                            n.ext_profile = url
                pairs.append((context, found))
            if depth == len(parts) - 1:
                return pairs
            contexts = [n for _, found in pairs for n in found]
        return [(root, [root])]

    # -- checking one profile ------------------------------------------------------------

    def check(self, profile: Profile, root: Node) -> None:
        for element_id, element in profile.elements.items():
            parts = split_id(element_id)
            if len(parts) < 2:
                continue
            pairs = self.resolve(profile, root, parts)
            if pairs is None:
                continue
            name = parts[-1][0]
            minimum = element.get("min")
            maximum = element.get("max")
            for parent, found in pairs:
                where = parent.path + "." + name + (f":{parts[-1][1]}" if parts[-1][1] else "")
                if isinstance(minimum, int) and len(found) < minimum:
                    self.problem(where, f"minimum cardinality {minimum} not met: found {len(found)} [{element_id} min {minimum}]")
                if maximum not in (None, "*") and len(found) > int(maximum):
                    self.problem(where, f"maximum cardinality {maximum} exceeded: found {len(found)} [{element_id} max {maximum}]")
                for node in found:
                    self.check_value(profile, element_id, element, name, node)

    def check_value(self, profile: Profile, element_id: str, element: dict, name: str, node: Node) -> None:
        found = fixed_or_pattern(element)
        value = node.value
        if found:
            kind, key, expected = found
            if kind == "fixed" and value != expected:
                self.problem(node.path, f"{key} {json.dumps(expected, ensure_ascii=False)} required, found {json.dumps(value, ensure_ascii=False)} [{element_id}]")
            if kind == "pattern" and not contains(value, expected):
                self.problem(node.path, f"{key} {json.dumps(expected, ensure_ascii=False)} not matched by {json.dumps(value, ensure_ascii=False)} [{element_id}]")
        types = [t.get("code") for t in element.get("type", []) if t.get("code")]
        if name.endswith("[x]") and types:
            actual = choice_type(node, name)
            if actual not in types:
                self.problem(node.path, f"type {actual} not allowed, the profile allows {'|'.join(types)} [{element_id}]")
        binding = element.get("binding") or {}
        if binding.get("strength") == "required" and binding.get("valueSet") and value is not None:
            self.check_binding(profile, element_id, binding["valueSet"], node)

    def check_binding(self, profile: Profile, element_id: str, valueset_url: str, node: Node) -> None:
        valueset = self.registry.valuesets.get(strip_version(valueset_url))
        if valueset is None:
            self.note(f"{profile.url}: {element_id}: binding not checked, value set {valueset_url} not available")
            return
        allowed: set[tuple[str | None, str]] = set()
        whole_systems: set[str] = set()
        complete = True

        def walk(contains_list):
            for item in contains_list:
                if "code" in item:
                    allowed.add((item.get("system"), item["code"]))
                walk(item.get("contains", []))
        walk((valueset.get("expansion") or {}).get("contains", []))
        for include in (valueset.get("compose") or {}).get("include", []):
            if include.get("filter") or include.get("valueSet"):
                complete = False
            elif include.get("concept"):
                for concept in include["concept"]:
                    allowed.add((include.get("system"), concept["code"]))
            elif include.get("system"):
                whole_systems.add(include["system"])
        if not complete and not (valueset.get("expansion") or {}).get("contains"):
            self.note(f"{profile.url}: {element_id}: binding not checked, value set {valueset_url} uses filters")
            return
        value = node.value
        if isinstance(value, str):
            codings = [{"code": value}]
        elif isinstance(value, dict) and "coding" in value:
            codings = value.get("coding", [])
        elif isinstance(value, dict) and "code" in value:
            codings = [value]
        else:
            return

        def ok(coding):
            system, code = coding.get("system"), coding.get("code")
            if system in whole_systems:
                return True
            if system is None:
                return any(c == code for _, c in allowed)
            return (system, code) in allowed
        if not any(ok(c) for c in codings):
            shown = ", ".join(f"{c.get('system', '')}|{c.get('code', '')}" for c in codings) or "no coding"
            self.problem(node.path, f"{shown} not in required value set {valueset_url} [{element_id}]")

    # -- extensions anywhere in the resource ---------------------------------------------

    def check_extensions(self, node: Node, done: set[int]) -> None:
        """Every extension with a loaded definition is checked against it."""
        value = node.value
        if isinstance(value, dict):
            for key, item in value.items():
                if key.startswith("_"):
                    continue
                companion = value.get("_" + key)
                items = as_list(item)
                companions = as_list(companion)
                many = isinstance(item, list)
                for index, sub in enumerate(items):
                    sub_companion = companions[index] if index < len(companions) else None
                    path = f"{node.path}.{key}" + (f"[{index}]" if many else "")
                    child = Node(sub, sub_companion, path)
                    if key in ("extension", "modifierExtension") and isinstance(sub, dict):
                        self.check_one_extension(child, done)
                    self.check_extensions(child, done)
        if isinstance(node.companion, dict):
            self.check_extensions(Node(node.companion, None, node.path), done)

    def check_one_extension(self, node: Node, done: set[int]) -> None:
        url = node.value.get("url")
        if not url or "://" not in url and not url.startswith("urn:"):
            return
        if id(node.value) in done:
            return
        done.add(id(node.value))
        ext = self.profile(url)
        if ext is None:
            self.note(f"extension {url}: definition not available, not checked")
            return
        if ext.type != "Extension":
            self.problem(node.path, f"url {url} names a {ext.type} profile, not an extension")
            return
        self.check(ext, Node(node.value, None, f"{node.path}(Extension {ext.sd.get('name', url)})", url))


# --------------------------------------------------------------------------------------
# Files


def resources_of(data: dict) -> list[tuple[str, dict]]:
    """(label, resource) pairs: a Bundle's entries (and the Bundle), or the resource."""
    out = []
    if data.get("resourceType") == "Bundle":
        out.append((f"Bundle/{data.get('id', 'bundle')}", data))
        for index, entry in enumerate(data.get("entry") or []):
            resource = entry.get("resource")
            if isinstance(resource, dict):
                label = f"{resource.get('resourceType', '?')}/{resource.get('id') or f'entry[{index}]'}"
                out.append((label, resource))
    else:
        out.append((f"{data.get('resourceType', '?')}/{data.get('id') or '#0'}", data))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sd-dir", action="append", required=True, help="directory of StructureDefinition JSON files (repeatable)")
    parser.add_argument("--profile", help="apply this profile (canonical URL) to every resource")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print what could not be checked")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)

    registry = Registry()
    for directory in args.sd_dir:
        registry.load_dir(directory)
    if args.profile and registry.sd(args.profile) is None:
        print(f"check_profile: profile {args.profile} is not among the loaded StructureDefinitions", file=sys.stderr)
        return 2

    failed = False
    for path in args.files:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError) as error:
            print(f"{path}: not readable as JSON: {error}")
            failed = True
            continue
        documents = data if isinstance(data, list) else [data]
        if not all(isinstance(d, dict) and "resourceType" in d for d in documents):
            print(f"{path}: not a FHIR resource (no resourceType)")
            failed = True
            continue
        for data, (label, resource) in ((d, item) for d in documents for item in resources_of(d)):
            declared = [strip_version(p) for p in (resource.get("meta") or {}).get("profile", [])]
            urls = [args.profile] if args.profile else [p for p in declared if registry.sd(p)]
            if not urls:
                if label.startswith("Bundle/") and resource is data:
                    continue  # the Bundle itself is only checked when its profile is known
                print(f"{path}: {label}: no profile, skipped" + (f" (meta.profile: {', '.join(declared)})" if declared else ""))
                continue
            for url in urls:
                checker = Checker(registry, args.verbose)
                profile = checker.profile(url)
                if profile.type != resource.get("resourceType"):
                    print(f"{path}: {label}: {url}: profile is for {profile.type}, not {resource.get('resourceType')}")
                    failed = True
                    continue
                root = Node(resource, None, resource.get("resourceType", "?"))
                checker.check(profile, root)
                checker.check_extensions(root, set())
                base = profile.sd.get("baseDefinition")
                if base and not base.startswith("http://hl7.org/fhir/StructureDefinition/") and registry.sd(base) is None:
                    checker.note(f"{url}: base profile {base} not available, its own constraints not checked")
                for problem in checker.problems:
                    print(f"{path}: {label}: {problem}")
                if args.verbose:
                    for note in checker.notes:
                        print(f"{path}: {label}: note: {note}")
                state = "OK" if not checker.problems else f"{len(checker.problems)} problem(s)"
                scope = "differential+snapshot" if profile.has_snapshot else "differential"
                print(f"{path}: {label}: checked against {profile.url}|{profile.version} ({scope}): {state}")
                failed = failed or bool(checker.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
