#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython's own regression suite as the oracle of "the agent changes nothing".

For one interpreter, runs the CPython regression test modules of
tests/cpython/modules.txt twice with regrtest (`PY -m test`): once without the
agent and once under `lruleak run`, each with regrtest's per-file watchdog
(--timeout) and an outer timeout, and fails when a module passes without the
agent and does not pass with it (fails, alters the environment, crashes,
hangs, or leaves processes behind). Prints a table module / without / with /
verdict and, for every failure, the failing test ids with their error text.

Usage: run-regrtest.py --python PY --lruleak CLI --agent LIB --work DIR
                       [--root ROOT] [--label NAME] [--jobs N] [--timeout S]
                       [--outer-timeout S] [--modules FILE] [--exceptions FILE]
                       [--only MODULE]...
Exit status: 0 no difference, 1 a module failed only under the agent,
77 (meson: SKIP) the interpreter or its test package is missing.
Run by meson (`meson test -C build --suite cpython`) with Debian's python3.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SHIM_DIR = os.path.join(HERE, "shim")

# Variables of the caller's environment that would change what either run
# does; both runs get the same environment otherwise.
SCRUB = ("LD_PRELOAD", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP",
         "PYTHONDEVMODE", "PYTHONMALLOC", "PYTHONWARNINGS", "PYTHONSAFEPATH",
         "PYTEST_PLUGINS", "PYTHONASYNCIODEBUG", "PYTHONFAULTHANDLER")


def say(msg):
    print("run-regrtest: " + msg, flush=True)


# ---- the module list and the exceptions ------------------------------------

class Group:
    def __init__(self, name, options):
        self.name = name
        self.options = options
        self.entries = []      # each: list of alternatives
        self.modules = []      # chosen: (entry label, regrtest name, testdir)


def read_modules(path):
    groups = [Group("main", [])]
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            m = re.match(r"^\[([\w.-]+)\]\s*(.*)$", line)
            if m:
                groups.append(Group(m.group(1), m.group(2).split()))
                continue
            alts = [a.strip() for a in line.split("|") if a.strip()]
            if not alts or any(not re.match(r"^(shim:)?[\w.]+$", a) for a in alts):
                raise SystemExit("run-regrtest: %s:%d: bad module line" % (path, lineno))
            groups[-1].entries.append(alts)
    return [g for g in groups if g.entries]


def read_exceptions(path):
    """PATTERN REASON lines: regrtest test-id patterns left out of both runs."""
    out = []
    if not path or not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) != 2:
                raise SystemExit("run-regrtest: %s:%d: an exception needs a reason"
                                 % (path, lineno))
            out.append((parts[0], parts[1]))
    return out


# ---- running a command, in another root if needed ---------------------------

class Runner:
    def __init__(self, root, env):
        self.root = root
        self.env = env
        self.mounted = []

    def wrap(self, cmd, cwd):
        if self.root == "/":
            return cmd
        return ["chroot", self.root, "/bin/sh", "-c", 'cd "$1" && shift && exec "$@"',
                "in-root", cwd] + cmd

    def exists(self, path):
        return os.path.exists(os.path.join(self.root, path.lstrip("/")))

    def bind(self, paths):
        """Bind-mount each path at its own place inside the root (as
        scripts/run-matrix.sh does), so absolute paths mean the same file."""
        if self.root == "/":
            return
        for p in paths:
            if p.startswith("/dev/") and subprocess.run(["mountpoint", "-q", p]).returncode:
                continue            # /dev/pts, /dev/shm: only when mounts of their own
            dst = os.path.join(self.root, p.lstrip("/"))
            os.makedirs(dst, exist_ok=True)
            if subprocess.run(["mountpoint", "-q", dst]).returncode == 0:
                continue
            subprocess.run(["mount", "--bind", p, dst], check=True)
            self.mounted.insert(0, dst)

    def unbind(self):
        for dst in self.mounted:
            if subprocess.run(["umount", dst], stderr=subprocess.DEVNULL).returncode:
                subprocess.run(["umount", "-l", dst], stderr=subprocess.DEVNULL)
        self.mounted = []

    def capture(self, cmd, cwd, timeout=60):
        return subprocess.run(self.wrap(cmd, cwd), cwd=cwd, env=self.env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=timeout)

    def run_logged(self, cmd, cwd, log, timeout, extra_env=None):
        """Run CMD with its output in LOG; kill everything it started after
        TIMEOUT seconds. Returns (exit status or None when it timed out,
        seconds, processes left behind)."""
        marker = uuid.uuid4().hex
        env = dict(self.env)
        env.update(extra_env or {})
        env["LRULEAK_CPYTHON_SUITE_RUN"] = marker
        t0 = time.monotonic()
        with open(log, "w") as out:
            p = subprocess.Popen(self.wrap(cmd, cwd), cwd=cwd, env=env,
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = p.wait(timeout=timeout)
            except BaseException as e:
                # The outer timeout, or this driver stopped (meson's timeout
                # sends SIGTERM): nothing of the run may survive it.
                rc = None
                kill_marked(marker, signal.SIGKILL)
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
                if not isinstance(e, subprocess.TimeoutExpired):
                    raise
        elapsed = time.monotonic() - t0
        # A process of the run still alive once the run is over (after a
        # grace period): something kept it from exiting.
        left = []
        for _ in range(20):
            left = marked_processes(marker)
            if not left:
                break
            time.sleep(0.25)
        if left:
            with open(log, "a") as out:
                out.write("run-regrtest: processes left behind after the run:\n")
                for pid, cmdline in left:
                    out.write("  %d %s\n" % (pid, cmdline[:200]))
            kill_marked(marker, signal.SIGKILL)
        return rc, elapsed, left


def marked_processes(marker):
    """The live processes whose environment carries MARKER (zombies excluded)."""
    found = []
    needle = ("LRULEAK_CPYTHON_SUITE_RUN=" + marker).encode()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                stat = f.read()
            if stat[stat.rfind(b")") + 2:][:1] == b"Z":
                continue
            with open("/proc/%s/environ" % d, "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        found.append((int(d), cmdline.strip()))
    return found


def kill_marked(marker, sig):
    for pid, _ in marked_processes(marker):
        try:
            os.kill(pid, sig)
        except OSError:
            pass


# ---- regrtest's output --------------------------------------------------------

PROGRESS = re.compile(r"\[\s*\d+/\d+(?:/\d+)?\]\s+(?:RERUN\s+)?(\S+)\s+(.*)$")
RUNNING = re.compile(r"^\d+:\d\d:\d\d (?:load avg: [\d.]+ )?running")


def parse_progress(log):
    """regrtest's progress lines: {module: (status, detail)}, status one of
    pass, skip, fail; plus each module's output lines (what follows its
    progress line: a worker's output, a watchdog's traceback)."""
    status, output = {}, {}
    current = None
    with open(log, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = PROGRESS.search(line)
            if m:
                mod, rest = m.group(1), m.group(2).split(" -- ", 1)[0].strip()
                if rest.startswith("passed"):
                    st = "pass"
                elif (rest.startswith("skipped") or rest.startswith("resource denied")
                      or rest.startswith("run no tests")):
                    st = "skip"
                else:
                    st = "fail"
                status[mod] = (st, rest)
                output[mod] = []
                current = mod
            elif line.startswith("== Tests result") or line.startswith("Total duration"):
                current = None      # regrtest's summary, then lruleak run's report
            elif current is not None and not RUNNING.search(line):
                output[current].append(line)
    return status, output


def parse_junit(path):
    """{test id: error text} of the failed and errored test cases."""
    failed = {}
    if not os.path.exists(path):
        return failed
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return failed
    for case in root.iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                text = (child.text or child.get("message") or "").strip()
                failed[case.get("name", "?")] = text
    return failed


def excerpt(text, n=20):
    """The telling part of a test's traceback: the last frame in a test
    file, then the exception and what follows it (up to N lines)."""
    lines = [l for l in text.splitlines() if not PAD_BYTE.match(l)]
    exc = [i for i, l in enumerate(lines) if EXCEPTION.match(l)]
    if not exc:
        return lines[-n:]
    i = exc[-1]
    frame = [l for l in lines[:i] if l.startswith("  File ") and "/test_" in l]
    return frame[-1:] + lines[i:i + n]


PAD_BYTE = re.compile(r"^\s+at (p|tail)[-+]\d+: ")   # a debug allocator's byte dump
EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failure|Exit|Interrupt)\b")


def module_of(test_id, modules):
    tid = test_id[5:] if test_id.startswith("test.") else test_id
    best = None
    for mod in modules:
        if tid == mod or tid.startswith(mod + "."):
            if best is None or len(mod) > len(best):
                best = mod
    return best


# ---- main -------------------------------------------------------------------

def stopped(signum, frame):
    raise SystemExit("run-regrtest: stopped by signal %d" % signum)


def main():
    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGHUP, stopped)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", required=True, help="the interpreter (a path inside --root)")
    ap.add_argument("--root", default="/", help="run it inside this root (chroot)")
    ap.add_argument("--lruleak", required=True, help="the lruleak CLI")
    ap.add_argument("--agent", required=True, help="liblruleak.so")
    ap.add_argument("--work", required=True, help="directory for logs and recordings")
    ap.add_argument("--label", default=None)
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("CPYTHON_SUITE_JOBS", "4")))
    ap.add_argument("--timeout", type=int, default=120, help="regrtest --timeout (per test file)")
    ap.add_argument("--outer-timeout", type=int, default=480,
                    help="seconds for one regrtest run before everything is killed")
    ap.add_argument("--modules", default=os.path.join(HERE, "modules.txt"))
    ap.add_argument("--exceptions", default=os.path.join(HERE, "exceptions.txt"))
    ap.add_argument("--only", action="append", default=[],
                    help="run only this module (repeatable)")
    args = ap.parse_args()
    args.lruleak = os.path.abspath(args.lruleak)
    args.agent = os.path.abspath(args.agent)
    if "/" not in args.python:
        args.python = shutil.which(args.python) or args.python
    label = args.label or os.path.basename(args.python)

    env = {k: v for k, v in os.environ.items()
           if k not in SCRUB and not k.startswith("LRULEAK_")}
    runner = Runner(args.root, env)
    if args.root != "/":
        if not runner.exists(args.python):
            say("%s: no %s in %s (scripts/prepare-pythons.sh makes it): skipped"
                % (label, args.python, args.root))
            return SKIP
        if os.geteuid() != 0:
            say("%s: running in %s needs root: skipped" % (label, args.root))
            return SKIP
    elif not os.access(args.python, os.X_OK):
        say("%s: no interpreter %s: skipped" % (label, args.python))
        return SKIP

    groups = read_modules(args.modules)
    exceptions = read_exceptions(args.exceptions)
    os.makedirs(args.work, exist_ok=True)
    work = os.path.abspath(args.work)
    for f in os.listdir(work):
        p = os.path.join(work, f)
        if os.path.isdir(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            os.unlink(p)
    try:
        runner.bind(["/proc", "/dev", "/dev/pts", "/dev/shm", work, HERE,
                     os.path.dirname(os.path.abspath(args.lruleak)),
                     os.path.dirname(os.path.abspath(args.agent))])
        return run_all(args, label, runner, groups, exceptions, work)
    finally:
        runner.unbind()


def run_all(args, label, runner, groups, exceptions, work):
    # What the interpreter is and which of the modules it ships.
    names = sorted({a for g in groups for e in g.entries for a in e})
    probe = r"""
import importlib.util, json, sys
out = {"version": sys.version.split()[0]}
try:
    import test.libregrtest, test.support
except ImportError as e:
    out["error"] = str(e)
else:
    have = {}
    for name in sys.argv[1:]:
        spec = "test._test_multiprocessing" if name.startswith("shim:") else "test." + name
        try:
            have[name] = importlib.util.find_spec(spec) is not None
        except ImportError:
            have[name] = False
    out["have"] = have
print(json.dumps(out))
"""
    try:
        r = runner.capture([args.python, "-c", probe] + names, work)
        info = json.loads(r.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        say("%s: %s does not run (%s): skipped" % (label, args.python, e))
        return SKIP
    if "error" in info:
        say("%s: %s has no regression test package (%s; Debian: libpython3.X-testsuite):"
            " skipped" % (label, args.python, info["error"]))
        return SKIP
    version = info["version"]
    absent = []
    for g in groups:
        for alts in g.entries:
            pick = next((a for a in alts if info["have"].get(a)), None)
            if args.only and not any(a in args.only for a in alts):
                continue
            if pick is None:
                absent.append(alts[0])
            elif pick.startswith("shim:"):
                g.modules.append((alts[0], pick[5:], SHIM_DIR))
            else:
                g.modules.append((alts[0], pick, None))
    if not any(g.modules for g in groups):
        say("%s: %s ships none of the modules (Debian: libpython3.X-testsuite): skipped"
            % (label, args.python))
        return SKIP
    say("%s: CPython %s, %d modules in %d regrtest runs, -j%d, --timeout %d"
        % (label, version, sum(len(g.modules) for g in groups),
           sum(1 for g in groups if g.modules), args.jobs, args.timeout))

    def regrtest(g, mods, tag, with_agent, jobs):
        testdirs = {m[2] for m in mods}
        cmd = [args.python, "-m", "test", "-j%d" % jobs, "--timeout", str(args.timeout),
               "--fail-env-changed", "--junit-xml", os.path.join(work, tag + ".xml")]
        if testdirs != {None}:
            cmd += ["--testdir", testdirs.pop()]
        for pattern, _ in exceptions:
            cmd += ["--ignore", pattern]
        cmd += g.options + [m[1] for m in mods]
        extra = {}
        if with_agent:
            cmd = [args.lruleak, "run", "--output", os.path.join(work, tag + ".jsonl"),
                   "--"] + cmd
            extra = {"LRULEAK_AGENT": args.agent}
        log = os.path.join(work, tag + ".log")
        rc, secs, left = runner.run_logged(cmd, work, log, args.outer_timeout, extra)
        status, output = parse_progress(log)
        failed = parse_junit(os.path.join(work, tag + ".xml"))
        say("  %-34s exit %s in %3.0f s%s" % (
            tag, "timeout" if rc is None else rc, secs,
            ", %d processes left behind" % len(left) if left else ""))
        return {"rc": rc, "status": status, "output": output, "failed": failed,
                "left": left, "log": log}

    rows = []
    failures = []
    flukes = []
    for g in groups:
        if not g.modules:
            continue
        if len(g.modules) > 1 and {m[2] for m in g.modules} != {None}:
            raise SystemExit("run-regrtest: a shim module must be alone in its group")
        runs = {}
        for side in ("without", "with"):
            runs[side] = regrtest(g, g.modules, "%s-%s" % (g.name, side),
                                  side == "with", args.jobs)
        for entry, mod, tdir in g.modules:
            res = {}
            for side in ("without", "with"):
                run = runs[side]
                if mod in run["status"]:
                    res[side] = run["status"][mod]
                elif run["rc"] is None:
                    res[side] = ("fail", "hung: the run was killed after %d s" % args.outer_timeout)
                else:
                    res[side] = ("fail", "no result (regrtest exited %s)" % run["rc"])
            w, a = res["without"], res["with"]
            if w[0] == "pass" and a[0] != "pass":
                # Each side again, the module alone (as regrtest's own -w
                # does): the agent's fault when it fails again under the
                # agent and passes without it. A failure that does not come
                # back under the agent is shown, but not counted.
                again = {}
                for side in ("with", "without"):
                    r = regrtest(g, [(entry, mod, tdir)], "%s-%s-%s-again" % (g.name, mod, side),
                                 side == "with", 1)
                    again[side] = r["status"].get(mod, ("fail",))[0] == "pass"
                    if again[side]:
                        break
                if not again["with"] and again.get("without"):
                    verdict = "FAIL"
                    failures.append((mod, w, a, runs["with"]))
                elif again["with"]:
                    verdict = "passed again alone with the agent (not counted)"
                    flukes.append((mod, w, a, runs["with"]))
                else:
                    verdict = "flaky without the agent (not counted)"
            elif w[0] == "pass":
                verdict = "ok"
            elif w[0] == "skip" and a[0] == "skip":
                verdict = "skipped"
            elif w[0] == "skip":
                verdict = "skipped without the agent only (not counted)"
            else:
                verdict = "fails without the agent (not counted)"
            rows.append((mod, w, a, verdict))
        # A process of the run alive after it: not a module's result (which
        # module started it is not known), a row of its own.
        if runs["with"]["left"] and not runs["without"]["left"]:
            name = "(%s run: processes left)" % g.name
            left = " ".join(str(pid) for pid, _ in runs["with"]["left"])
            rows.append((name, ("none", "none"), ("fail", "pid " + left), "FAIL"))
            failures.append((name, ("none", "none"), ("fail", "processes left behind: " + "; ".join(
                "%d %s" % (pid, " ".join(c.split())[:160]) for pid, c in runs["with"]["left"])),
                runs["with"]))
    for mod in absent:
        rows.append((mod, ("-", "absent"), ("-", "absent"), "absent"))

    # The table.
    def cell(r):
        if r[0] == "pass":
            return "passed"
        text = re.sub(r"worker non-zero exit code \(Exit code (.*)\)$", r"worker exit \1", r[1])
        text = re.sub(r"^(timed out \([^)]*\)) \(.*\)$", r"\1", text)
        return text[:30]
    width = max([len(r[0]) for r in rows] + [6])
    print()
    print("CPython regression suite, %s (CPython %s): without / with lruleak run" % (label, version))
    print("%-*s  %-30s  %-30s  %s" % (width, "module", "without", "with", "verdict"))
    for mod, w, a, verdict in rows:
        print("%-*s  %-30s  %-30s  %s" % (width, mod, cell(w), cell(a), verdict))
    if exceptions:
        print("exceptions (left out of both runs, tests/cpython/exceptions.txt):")
        for pattern, reason in exceptions:
            print("  %s: %s" % (pattern, reason))

    # What failed under the agent: test ids and error text, then the output.
    for mod, w, a, run in failures + flukes:
        print()
        print("==== %s: passes without the agent, %s under lruleak run%s" % (
            mod, a[1], "" if (mod, w, a, run) in failures else
            " (once: it passed when run again alone under the agent)"))
        tests = {t: e for t, e in run["failed"].items()
                 if module_of(t, [m for _, m, _ in sum((g.modules for g in groups), [])]) == mod}
        for n, (tid, text) in enumerate(sorted(tests.items())):
            if n == 5:
                print("---- and %d more: %s" % (len(tests) - 5, " ".join(sorted(tests)[5:])))
                break
            print("---- %s" % tid)
            for line in excerpt(text):
                print("     " + line)
        out = [l for l in run["output"].get(mod, []) if not PAD_BYTE.match(l)]
        if out:
            print("---- output after its progress line (last 60 lines):")
            for line in out[-60:]:
                print("     " + line)
        print("---- full log: %s" % run["log"])

    print()
    if failures:
        print("%s: %d module(s) fail only under the agent: %s"
              % (label, len(failures), " ".join(f[0] for f in failures)))
        return 1
    print("%s: no module fails only under the agent" % label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
