# SPDX-License-Identifier: MIT
"""Validate the CI files of `lruleak run/report` and summarise them.

Usage: check_ci_files.py SCHEMA SARIF JUNIT [PYTEST_JUNIT]

- SARIF is validated against SCHEMA (the published SARIF 2.1.0 schema,
  tests/sarif/) with jsonschema, the validator class the schema's own
  "$schema" names, with format checking;
- JUNIT is parsed with xml.etree and checked against the conventions of
  pytest's junitxml: <testsuites> of <testsuite name tests failures errors
  skipped time>, whose counts match their <testcase classname name time>
  children, each <failure> with a message; when PYTEST_JUNIT (pytest's own
  --junitxml file for the same run) is given, every testcase must carry the
  classname and name pytest gave that test.

Prints one JSON line: {"sarif": [{"ruleId", "level", "uri", "startLine",
"name"}], "junit": [{"suite", "classname", "name", "failure"}]} - or exits
1 with the problem on stderr. Exits 77 when jsonschema is not installed.
"""
import json
import sys
import xml.etree.ElementTree as ET

try:
    import jsonschema
except ImportError:
    print("check_ci_files: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(77)


def fail(msg):
    print("check_ci_files: " + msg, file=sys.stderr)
    sys.exit(1)


def check_sarif(schema_path, path):
    with open(schema_path) as f:
        schema = json.load(f)
    with open(path) as f:
        doc = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        fail("%s is not valid SARIF 2.1.0: %s at %s" % (
            path, errors[0].message, "/".join(str(p) for p in errors[0].path)))
    out = []
    for run in doc["runs"]:
        rules = [r["id"] for r in run["tool"]["driver"].get("rules", [])]
        for res in run.get("results", []):
            if rules[res["ruleIndex"]] != res["ruleId"]:
                fail("ruleIndex %d does not name %s" % (res["ruleIndex"], res["ruleId"]))
            loc = res["locations"][0]
            phys = loc.get("physicalLocation", {})
            out.append({
                "ruleId": res["ruleId"], "level": res["level"],
                "uri": phys.get("artifactLocation", {}).get("uri"),
                "uriBaseId": phys.get("artifactLocation", {}).get("uriBaseId"),
                "startLine": phys.get("region", {}).get("startLine"),
                "name": loc["logicalLocations"][0]["fullyQualifiedName"]})
    return out


def count(elem, attr):
    value = elem.get(attr)
    if value is None:
        fail("<%s> without %s=" % (elem.tag, attr))
    return value


def check_junit(path, pytest_path):
    root = ET.parse(path).getroot()
    if root.tag != "testsuites":
        fail("%s: root is <%s>, not <testsuites>" % (path, root.tag))
    expected = None
    if pytest_path is not None:
        expected = set()
        for case in ET.parse(pytest_path).getroot().iter("testcase"):
            expected.add((case.get("classname"), case.get("name")))
    out = []
    total = failures = 0
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        fails = [c for c in cases if c.find("failure") is not None]
        for attr in ("name", "tests", "failures", "errors", "skipped", "time"):
            count(suite, attr)
        float(suite.get("time"))
        if int(suite.get("tests")) != len(cases) or int(suite.get("failures")) != len(fails):
            fail("testsuite %s counts %s tests, %s failures; it has %d and %d" % (
                suite.get("name"), suite.get("tests"), suite.get("failures"), len(cases),
                len(fails)))
        total += len(cases)
        failures += len(fails)
        for case in cases:
            for attr in ("classname", "name", "time"):
                count(case, attr)
            float(case.get("time"))
            failure = case.find("failure")
            if failure is not None and not failure.get("message"):
                fail("testcase %s: <failure> without a message" % case.get("name"))
            key = (case.get("classname"), case.get("name"))
            if (suite.get("name") == "lruleak.tests" and expected is not None
                    and key not in expected):
                fail("testcase %s.%s is not a test pytest reported" % key)
            out.append({"suite": suite.get("name"), "classname": key[0], "name": key[1],
                        "failure": failure is not None})
    if int(count(root, "tests")) != total or int(count(root, "failures")) != failures:
        fail("testsuites counts do not add up")
    return out


def main():
    if len(sys.argv) not in (4, 5):
        fail("usage: check_ci_files.py SCHEMA SARIF JUNIT [PYTEST_JUNIT]")
    sarif = check_sarif(sys.argv[1], sys.argv[2])
    junit = check_junit(sys.argv[3], sys.argv[4] if len(sys.argv) == 5 else None)
    print(json.dumps({"sarif": sarif, "junit": junit}, sort_keys=True))


if __name__ == "__main__":
    main()
