#!/usr/bin/env python3
"""Import circles between the workspace's modules: exit 1, naming each, if there is one.

Dependencies must point one way. Within every module (a crate's root too), its child modules,
each taken with everything below it, must use each other without a circle: if `lab::engine`
uses `lab::views`, nothing under `lab::views` may use `lab::engine`. A module and its own
ancestors are one unit here (a child using its parent's types, a parent its children's, is how
Rust splits one module's work into files), so only siblings and cousins are compared.

A use is any path in the code (a `use` line, braces expanded, or a path written in place) that
starts at `crate::`, `super::` or `self::`, or at a child module's name in the file that declares
it; it is resolved to the deepest module it names, following `pub use` re-exports, so a type
used through a crate's root counts as a use of the module that defines it. Comments and string
literals are ignored. Cross-crate dependencies are cargo's to keep acyclic.

    python3 scripts/module_cycles.py          all crates under crates/
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_comments_and_strings(text):
    """The code with comments and string/char literals blanked (line breaks kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if text[i] == "\n" else "")
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and not re.match(r"[A-Za-z0-9_]", text[i - 1] if i else " "):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or re.match(r"'\\u\{[0-9a-fA-F]+\}'", text[i:i + 12]):
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e'] (aliases dropped)."""
    tree = re.sub(r"\s+", "", tree)
    results = []

    def walk(prefix, s):
        depth, start, parts = 0, 0, []
        for k, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:k])
                start = k + 1
        parts.append(s[start:])
        for part in parts:
            if not part:
                continue
            brace = part.find("{")
            if brace >= 0:
                walk(prefix + part[:brace], part[brace + 1:part.rindex("}")])
            else:
                results.append(prefix + part.split("as")[0] if "as" in part and re.search(r"as" + IDENT + "$", part) else prefix + part)

    walk("", tree)
    return [r.rstrip(":") for r in results]


class Crate:
    def __init__(self, src):
        self.src = src
        self.files = {}  # module path (tuple) -> (file, code)
        root = src / "lib.rs" if (src / "lib.rs").exists() else src / "main.rs"
        self.load((), root)
        # A binary target beside a library is a crate of its own: not walked here.

    def load(self, path, file):
        code = strip_comments_and_strings(file.read_text())
        self.files[path] = (file, code)
        folder = file.parent if file.name in ("lib.rs", "main.rs", "mod.rs") else file.with_suffix("")
        for m in re.finditer(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", code):
            name = m.group(1)
            for candidate in (folder / f"{name}.rs", folder / name / "mod.rs"):
                if candidate.exists():
                    self.load(path + (name,), candidate)
                    break

    def children(self, path):
        return {p[-1] for p in self.files if len(p) == len(path) + 1 and p[:len(path)] == path}

    def reexport(self, module, name, seen):
        """Where `name`, re-exported by `module` with `pub use`, is defined, or None."""
        _, code = self.files[module]
        for m in re.finditer(r"pub(?:\([^)]*\))?\s+use\s+([^;]+);", code):
            for item in expand_use_tree(m.group(1)):
                if item.split("::")[-1] == name or item.endswith("::*"):
                    target = self.resolve(module, item.split("::"), seen)
                    if target is not None and target != module:
                        return target
        return None

    def resolve(self, module, segments, seen=None):
        """The module a path written in `module` lands in, or None when it leaves the crate."""
        seen = set() if seen is None else seen
        key = (module, tuple(segments))
        if key in seen:
            return None
        seen.add(key)
        segments = list(segments)
        if not segments:
            return None
        head = segments[0]
        if head == "crate":
            at, segments = (), segments[1:]
        elif head in ("super", "self"):
            at = module
            while segments and segments[0] in ("super", "self"):
                if segments.pop(0) == "super":
                    at = at[:-1]
        elif head in self.children(module):
            at = module
        else:
            return None
        while segments and segments[0] in self.children(at):
            at = at + (segments.pop(0),)
        if segments and segments[0] not in ("*",):
            via = self.reexport(at, segments[0], seen)
            if via is not None:
                return via
        return at

    def uses(self):
        """(from module, to module, line) for every use in the crate."""
        for module, (file, code) in self.files.items():
            for m in re.finditer(r"\buse\s+([^;]+);", code):
                line = code.count("\n", 0, m.start()) + 1
                for item in expand_use_tree(m.group(1)):
                    target = self.resolve(module, item.split("::"))
                    if target is not None:
                        yield module, target, f"{file.relative_to(ROOT)}:{line}"
            for m in re.finditer(r"(?<![A-Za-z0-9_:])((?:crate|super|self)(?:::" + IDENT + r")+)", code):
                line = code.count("\n", 0, m.start()) + 1
                target = self.resolve(module, m.group(1).split("::"))
                if target is not None:
                    yield module, target, f"{file.relative_to(ROOT)}:{line}"


def cycles(edges):
    """Strongly connected components of more than one node (Tarjan)."""
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main():
    failures = 0
    for manifest in sorted(ROOT.glob("crates/*/Cargo.toml")):
        src = manifest.parent / "src"
        crate = Crate(src)
        # (level, from child, to child) -> evidence
        edges = {}
        for source, target, where in crate.uses():
            common = 0
            while common < min(len(source), len(target)) and source[common] == target[common]:
                common += 1
            if common in (len(source), len(target)):
                continue  # the same module, or a module and its ancestor
            level = source[:common]
            edges.setdefault((level, source[common], target[common]), where)
        levels = {}
        for (level, a, b), where in edges.items():
            levels.setdefault(level, []).append((a, b))
        for level, pairs in sorted(levels.items()):
            for component in cycles(pairs):
                failures += 1
                name = "::".join((manifest.parent.name.replace("-", "_"),) + level)
                print(f"import circle in {name}: {' <-> '.join(component)}")
                for (lvl, a, b), where in sorted(edges.items()):
                    if lvl == level and a in component and b in component:
                        print(f"  {a} uses {b} ({where})")
    if failures:
        print(f"{failures} import circle(s): make the dependency point one way")
        return 1
    print("no import circle between the workspace's modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
