# SPDX-License-Identifier: MIT
"""A small, strict, independent parser of the two Prometheus exposition
formats (text 0.0.4 and OpenMetrics 1.0), for the metrics tests.

Written from the specifications, not from lruleak's writer: it raises
ExpoError on anything a strict reader would refuse (bad names, unknown
escapes, metadata after samples, a family split in two, a duplicate
series, a counter sample without _total, OpenMetrics without a final
"# EOF" or with blank lines, a UNIT that is not the name's suffix, invalid
UTF-8), and returns the families with their unescaped label values.
"""
import math
import re

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES_TEXT = {"counter", "gauge", "histogram", "summary", "untyped"}
TYPES_OM = {"counter", "gauge", "histogram", "gaugehistogram", "stateset", "info", "summary",
            "unknown"}


class ExpoError(Exception):
    pass


def _value(s, where):
    if s in ("NaN", "+Inf", "-Inf", "Inf"):
        return {"NaN": math.nan, "+Inf": math.inf, "Inf": math.inf, "-Inf": -math.inf}[s]
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
        raise ExpoError("%s: bad value %r" % (where, s))
    return float(s)


def _unescape(s, allowed, where):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in allowed:
                raise ExpoError("%s: bad escape in %r" % (where, s))
            out.append({"\\": "\\", '"': '"', "n": "\n"}[s[i + 1]])
            i += 2
        else:
            if c == "\n":
                raise ExpoError("%s: raw newline" % where)
            out.append(c)
            i += 1
    return "".join(out)


def _sample(line, where):
    """name, {labels}, value (rest: an optional timestamp)."""
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
    if not m:
        raise ExpoError("%s: no metric name in %r" % (where, line))
    name, i, labels = m.group(1), m.end(), {}
    if i < len(line) and line[i] == "{":
        i += 1
        while True:
            if line[i] == "}":
                i += 1
                break
            m = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="').match(line, i)
            if not m:
                raise ExpoError("%s: bad label at %r" % (where, line[i:]))
            lname, i = m.group(1), m.end()
            j, raw = i, []
            while True:
                if j >= len(line):
                    raise ExpoError("%s: unterminated label value" % where)
                if line[j] == "\\":
                    raw.append(line[j:j + 2])
                    j += 2
                    continue
                if line[j] == '"':
                    break
                raw.append(line[j])
                j += 1
            if lname in labels:
                raise ExpoError("%s: label %s twice" % (where, lname))
            labels[lname] = _unescape("".join(raw), '\\"n', where)
            i = j + 1
            if line[i] == ",":
                i += 1
            elif line[i] != "}":
                raise ExpoError("%s: expected , or } at %r" % (where, line[i:]))
    if i >= len(line) or line[i] != " ":
        raise ExpoError("%s: expected a space before the value in %r" % (where, line))
    parts = line[i + 1:].split(" ")
    if len(parts) not in (1, 2) or parts[0] == "":
        raise ExpoError("%s: bad value part %r" % (where, line[i:]))
    return name, labels, _value(parts[0], where)


def parse(data, openmetrics):
    """data: bytes. Returns {family: {"type", "help", "unit", "samples":
    [(name, labels, value)]}} in document order."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ExpoError("not UTF-8: %s" % e)
    if openmetrics:
        if not text.endswith("# EOF\n") or text.count("# EOF") != 1:
            raise ExpoError("OpenMetrics must end with exactly one '# EOF' line")
        text = text[: -len("# EOF\n")]
    elif "# EOF" in text:
        raise ExpoError("text format has no '# EOF'")
    families, order, closed, series = {}, [], set(), set()
    current = None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:
        raise ExpoError("the last line has no newline")

    def family(name, where):
        nonlocal current
        if name != current:
            if name in closed or (name in families and families[name]["samples"]):
                raise ExpoError("%s: family %s split or its metadata after samples" % (where, name))
            if current is not None:
                closed.add(current)
            current = name
        if name not in families:
            families[name] = {"type": None, "help": None, "unit": None, "samples": []}
            order.append(name)
        return families[name]

    for n, line in enumerate(lines, 1):
        where = "line %d" % n
        if line == "":
            if openmetrics:
                raise ExpoError("%s: blank line in OpenMetrics" % where)
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE", "UNIT"):
                kind, name = parts[1], parts[2]
                rest = parts[3] if len(parts) == 4 else ""
                if not NAME.match(name):
                    raise ExpoError("%s: bad name %r" % (where, name))
                if kind == "UNIT" and not openmetrics:
                    raise ExpoError("%s: UNIT in the text format" % where)
                f = family(name, where)
                if f["samples"]:
                    raise ExpoError("%s: metadata after samples" % where)
                key = kind.lower()
                if f[key] is not None:
                    raise ExpoError("%s: second %s for %s" % (where, kind, name))
                if kind == "TYPE":
                    if rest not in (TYPES_OM if openmetrics else TYPES_TEXT):
                        raise ExpoError("%s: bad type %r" % (where, rest))
                elif kind == "HELP":
                    rest = _unescape(rest, '\\"n' if openmetrics else "\\n", where)
                elif kind == "UNIT" and rest and not name.endswith("_" + rest):
                    raise ExpoError("%s: %s does not end with its unit %s" % (where, name, rest))
                f[key] = rest
            elif openmetrics:
                raise ExpoError("%s: unknown comment %r" % (where, line))
            continue
        name, labels, value = _sample(line, where)
        fam = name
        if current is not None:
            t = families[current]["type"]
            suffixes = {"counter": ["_total", "_created"], "info": ["_info"]}.get(t, [])
            if openmetrics:
                if any(name == current + s for s in suffixes) or (
                        name == current and t not in ("counter", "info")):
                    fam = current
            elif name == current:
                fam = current
        if openmetrics and fam == name and name in families and families[name]["type"] in (
                "counter", "info"):
            raise ExpoError("%s: %s sample named without its suffix" % (where, name))
        f = family(fam, where)
        if f["type"] == "counter" and not name.endswith("_total") and not name.endswith(
                "_created"):
            raise ExpoError("%s: counter sample %s without _total" % (where, name))
        if f["type"] == "info" and value != 1:
            raise ExpoError("%s: info value %r" % (where, value))
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise ExpoError("%s: duplicate series %s %r" % (where, name, labels))
        series.add(key)
        f["samples"].append((name, labels, value))
    return {name: families[name] for name in order}


def samples(families, name):
    """Every (labels, value) whose sample name is name."""
    out = []
    for f in families.values():
        for sname, labels, value in f["samples"]:
            if sname == name:
                out.append((labels, value))
    return out
