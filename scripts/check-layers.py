#!/usr/bin/env python3
"""Checks the workspace's layering: the rules docs/architecture.md states.

1. Inside each crate, the top-level modules (src/<name>.rs or src/<name>/) form no loop of
   references (`crate::x`, and `super::x` from a top-level file). Test code (`#[cfg(test)]`
   modules, inline or in files of their own) is left out: a test may check a module with the
   ones built on it (a share with the simulator's rules) without shaping the library.
2. The crates' dependencies (normal and build, not dev) go from a higher layer to a strictly
   lower one, as LAYERS declares; a crate of the workspace missing from LAYERS is an error.
3. No crate holds more than MAX_SHARE of the workspace's non-test lines.

Exits 1 with one line per breach. `--graph` prints the module edges of every crate.
"""
import os
import re
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_SHARE = 0.30

# Lower numbers sit lower: a crate may depend only on crates of a smaller number.
LAYERS = {
    # What every crate shares: the record, the sink contract, transports; the access trace.
    "crt-core": 0,
    "crt-audit": 0,
    # The documents built from a record, the services that need nothing else, the store,
    # the test PKI (it issues to the services' clients what the core's issuer trait asks).
    "crt-documents": 1,
    "crt-pki": 1,
    "crt-ins": 1,
    "crt-annuaire": 1,
    "crt-ror": 1,
    "crt-telemonitoring": 1,
    "crt-viatrajectoire": 1,
    "crt-store": 1,
    # Who a professional is: Pro Santé Connect.
    "crt-psc": 1,
    # The services that carry documents, and the reports read from the store.
    "crt-dmp": 2,
    "crt-mssante": 2,
    "crt-regions": 2,
    "crt-reports": 2,
    # The binaries.
    "crt-loadgen": 9,
    "crt-gateway": 9,
}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def members():
    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        workspace = tomllib.load(f)["workspace"]
    for member in workspace["members"]:
        with open(os.path.join(ROOT, member, "Cargo.toml"), "rb") as f:
            manifest = tomllib.load(f)
        yield member, manifest


def rust_files(src):
    for dirpath, _, names in os.walk(src):
        for name in sorted(names):
            if name.endswith(".rs"):
                yield os.path.join(dirpath, name)


def strip_comments(text):
    """Drops plain comments; doc comments stay, since their links are references too."""
    text = re.sub(r"/\*(?![*!]).*?\*/", "", text, flags=re.S)
    return re.sub(r"(?<![:/])//(?![/!]).*", "", text)


def brace_group(text, start):
    """The text inside the braces opening at `start`."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    return text[start + 1:]


def top_level_names(group):
    names, depth, current = [], 0, ""
    for ch in group:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if depth == 0 and ch == ",":
            names.append(current)
            current = ""
        else:
            current += ch
    names.append(current)
    out = []
    for name in names:
        m = re.match(r"\s*(" + IDENT + ")", name)
        if m:
            out.append(m.group(1))
    return out


def references(text, prefix):
    """Module names referred to as `<prefix>::name` or `<prefix>::{a, b::c}`."""
    found = set()
    for m in re.finditer(r"\b" + prefix + r"::", text):
        rest = m.end()
        if rest < len(text) and text[rest] == "{":
            found.update(top_level_names(brace_group(text, rest)))
        else:
            n = re.match(IDENT, text[rest:])
            if n:
                found.add(n.group(0))
    return found


def module_of(src, path):
    rel = os.path.relpath(path, src)
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def without_test_modules(text):
    """The text with its inline `#[cfg(test)] mod x { … }` blocks removed."""
    pattern = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+" + IDENT + r"\s*\{")
    while (m := pattern.search(text)):
        body = brace_group(text, m.end() - 1)
        text = text[:m.start()] + text[m.end() + len(body) + 1:]
    return text


def module_edges(src):
    tests = test_only_files(src)
    files = [p for p in rust_files(src) if os.path.normpath(p) not in tests]
    modules = {module_of(src, p) for p in files} - {"lib", "main"}
    edges = {m: set() for m in modules}
    for path in files:
        module = module_of(src, path)
        if module in ("lib", "main"):
            continue
        text = without_test_modules(strip_comments(open(path, encoding="utf-8").read()))
        targets = references(text, "crate")
        if os.path.dirname(path) == src or os.path.basename(path) == "mod.rs" and os.path.dirname(os.path.dirname(path)) == src:
            targets |= references(text, r"(?<!::)super")
        edges[module] |= {t for t in targets if t in modules and t != module}
    return edges


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_only_files(src):
    """Files declared with `#[cfg(test)] mod x;`: test code kept in its own file."""
    out = set()
    for path in rust_files(src):
        text = open(path, encoding="utf-8").read()
        base = os.path.dirname(path) if os.path.basename(path) in ("mod.rs", "lib.rs", "main.rs") else path[:-3]
        for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", text):
            for candidate in (os.path.join(base, m.group(1) + ".rs"), os.path.join(base, m.group(1), "mod.rs")):
                out.add(os.path.normpath(candidate))
    return out


def non_test_lines(src):
    skip = test_only_files(src)
    total = 0
    for path in rust_files(src):
        if os.path.normpath(path) in skip:
            continue
        lines = open(path, encoding="utf-8").read().splitlines()
        for i, line in enumerate(lines):
            if line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(r"\s*(pub\s+)?mod\s+\w+\s*\{", lines[i + 1]):
                break
            if line.strip():
                total += 1
    return total


def main():
    show = "--graph" in sys.argv
    breaches = []
    lines = {}
    for member, manifest in members():
        name = manifest["package"]["name"]
        src = os.path.join(ROOT, member, "src")
        lines[name] = non_test_lines(src)
        edges = module_edges(src)
        if show:
            print(f"{name}:")
            for module in sorted(edges):
                print(f"  {module} -> {', '.join(sorted(edges[module])) or '-'}")
        for loop in cycles(edges):
            breaches.append(f"{name}: top-level modules form a loop: {' ↔ '.join(loop)}")
        if name not in LAYERS:
            breaches.append(f"{name}: not placed in a layer (scripts/check-layers.py LAYERS)")
            continue
        for section in ("dependencies", "build-dependencies"):
            for dep in manifest.get(section, {}):
                if dep in LAYERS and LAYERS[dep] >= LAYERS[name]:
                    breaches.append(f"{name} (layer {LAYERS[name]}) depends on {dep} (layer {LAYERS[dep]}): not a lower layer")
    total = sum(lines.values())
    for name, count in sorted(lines.items(), key=lambda kv: -kv[1]):
        share = count / total
        if show:
            print(f"{name}: {count} non-test lines, {share:.1%}")
        if share > MAX_SHARE:
            breaches.append(f"{name}: {count} of {total} non-test lines ({share:.1%}), more than {MAX_SHARE:.0%}")
    for breach in breaches:
        print(breach, file=sys.stderr)
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
