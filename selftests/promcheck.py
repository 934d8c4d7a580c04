#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A strict checker of the Prometheus text exposition format (version 0.0.4),
with promtool's lint rules on top. Reads stdin; prints nothing and exits 0
if valid, else one line per problem ("line N: what") and exits 1.

  - every line is "# HELP name text", "# TYPE name type", another comment, or
    a sample: name[{label="value",...}] value [timestamp]
  - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
    not starting with __, label values quoted with only \\\\ \\" \\n escapes,
    no label twice in a sample
  - values are floats (or NaN, +Inf, -Inf), timestamps integers
  - TYPE at most once per family and before its first sample; HELP at most
    once; a family's lines in one group; no series twice
  - lint: every family has HELP and TYPE; counters end in _total, nothing
    else does; the text ends with a newline
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
SUFFIXES = ("_bucket", "_sum", "_count")


def parse_value(s):
    if s in ("NaN", "+Inf", "-Inf", "Inf"):
        return True
    return re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s) is not None


def parse_labels(s, i, problems, no):
    """s[i] is '{'; returns (labels dict, index after '}') or (None, _)."""
    labels = {}
    i += 1
    while True:
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = re.compile(LABEL).match(s, i)
        if not m:
            problems.append(f"line {no}: bad label name at column {i + 1}")
            return None, i
        name = m.group(0)
        if name.startswith("__"):
            problems.append(f"line {no}: reserved label name '{name}'")
        i = m.end()
        if s[i:i + 2] != '="':
            problems.append(f"line {no}: label '{name}' without =\"value\"")
            return None, i
        i += 2
        val = []
        while True:
            if i >= len(s):
                problems.append(f"line {no}: unterminated value of label '{name}'")
                return None, i
            c = s[i]
            if c == "\\":
                if i + 1 >= len(s) or s[i + 1] not in '\\"n':
                    problems.append(f"line {no}: bad escape in label '{name}'")
                    return None, i
                val.append(s[i:i + 2])
                i += 2
                continue
            if c == '"':
                i += 1
                break
            if c == "\n":
                problems.append(f"line {no}: newline in label '{name}'")
                return None, i
            val.append(c)
            i += 1
        if name in labels:
            problems.append(f"line {no}: label '{name}' twice")
        labels[name] = "".join(val)
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        problems.append(f"line {no}: expected ',' or '}}' after label '{name}'")
        return None, i


def check(text):
    problems = []
    types, helps, done, seen = {}, {}, set(), set()
    current = None
    if text and not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+)(?: (.*))?", line)
            if not m:
                if re.match(r"#\s*(HELP|TYPE)\b", line):
                    problems.append(f"line {no}: malformed {line.split()[1]} line")
                continue
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
            if not re.fullmatch(NAME, name):
                problems.append(f"line {no}: bad metric name '{name}'")
            if name in done:
                problems.append(f"line {no}: {kind} for '{name}' after its group ended")
            if current and current != name:
                done.add(current)
            current = name
            if kind == "TYPE":
                if name in types:
                    problems.append(f"line {no}: second TYPE for '{name}'")
                if rest not in TYPES:
                    problems.append(f"line {no}: unknown type '{rest}'")
                if any(s[0] == name for s in seen):
                    problems.append(f"line {no}: TYPE for '{name}' after its samples")
                types[name] = rest
            else:
                if name in helps:
                    problems.append(f"line {no}: second HELP for '{name}'")
                helps[name] = rest
            continue
        m = re.compile(NAME).match(line)
        if not m:
            problems.append(f"line {no}: bad metric name")
            continue
        name, i, labels = m.group(0), m.end(), {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line, i, problems, no)
            if labels is None:
                continue
        rest = line[i:]
        if not rest.startswith(" "):
            problems.append(f"line {no}: no space before the value")
            continue
        parts = rest.split()
        if len(parts) not in (1, 2) or not parse_value(parts[0]):
            problems.append(f"line {no}: bad value '{rest.strip()}'")
            continue
        if len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1]):
            problems.append(f"line {no}: bad timestamp '{parts[1]}'")
        family = name
        for suf in SUFFIXES:
            base = name[: -len(suf)]
            if name.endswith(suf) and types.get(base) in ("histogram", "summary"):
                family = base
        if family in done:
            problems.append(f"line {no}: '{family}' sample after its group ended")
        if current and current != family:
            done.add(current)
        current = family
        series = (name, tuple(sorted(labels.items())))
        if series in seen:
            problems.append(f"line {no}: series {name}{labels} twice")
        seen.add(series)
    families = {s[0] for s in seen}
    for f in sorted(families):
        base = f
        for suf in SUFFIXES:
            if f.endswith(suf) and types.get(f[: -len(suf)]) in ("histogram", "summary"):
                base = f[: -len(suf)]
        if base not in types:
            problems.append(f"lint: '{base}' has no TYPE")
        if base not in helps:
            problems.append(f"lint: '{base}' has no HELP")
    for name, t in types.items():
        if t == "counter" and not name.endswith("_total"):
            problems.append(f"lint: counter '{name}' does not end in _total")
        if t != "counter" and name.endswith("_total"):
            problems.append(f"lint: {t} '{name}' ends in _total")
    return problems


if __name__ == "__main__":
    found = check(sys.stdin.read())
    for p in found:
        print(p)
    sys.exit(1 if found else 0)
