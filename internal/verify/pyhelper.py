"""handoff's Python helper for internal/verify (embedded in the Go binary).

Commands, all answering JSON (or source) on stdout:
  parse               read a test file on stdin, list its test functions
  remove NAME...      read a test file on stdin, print it without the named tests
  report RC MODULE    read coverage data, report the module's coverage
"""
import ast
import json
import sys

FAIL_CALLS = {"fail", "raises", "warns", "deprecated_call", "skip_unless_raises"}


def _call_name(node):
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return ""


def _direct_asserts(fn):
    """Whether fn asserts by itself, and the local names it calls."""
    calls = set()
    for node in ast.walk(fn):
        if isinstance(node, (ast.Assert, ast.Raise)):
            return True, calls
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if "assert" in name.lower() or name in FAIL_CALLS:
                return True, calls
            calls.add(name)
    return False, calls


def _is_test_class(node):
    if not isinstance(node, ast.ClassDef):
        return False
    if node.name.startswith("Test"):
        return True
    for b in node.bases:
        n = b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
        if n.endswith("TestCase"):
            return True
    return False


def _functions(body):
    return [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _start(node):
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


def _tests(tree):
    """Yield (qualname, node, helpers) for every test function pytest collects."""
    helpers = {f.name: f for f in _functions(tree.body)}
    for f in _functions(tree.body):
        if f.name.startswith("test"):
            yield f.name, f, helpers
    for c in tree.body:
        if _is_test_class(c):
            methods = {m.name: m for m in _functions(c.body)}
            scope = dict(helpers)
            scope.update(methods)
            for m in _functions(c.body):
                if m.name.startswith("test"):
                    yield c.name + "::" + m.name, m, scope


def _asserts(fn, scope, seen=None):
    seen = seen if seen is not None else set()
    if fn.name in seen:
        return False
    seen.add(fn.name)
    direct, calls = _direct_asserts(fn)
    if direct:
        return True
    return any(_asserts(scope[c], scope, seen) for c in calls if c in scope and scope[c] is not fn)


def cmd_parse(src):
    try:
        tree = ast.parse(src)
    except SyntaxError as e:
        return {"error": "line %s: %s" % (e.lineno, e.msg)}
    tests = []
    for qual, node, scope in _tests(tree):
        tests.append({"name": qual, "start": _start(node), "end": node.end_lineno,
                      "assert": _asserts(node, scope)})
    return {"tests": tests}


def cmd_remove(src, names):
    tree = ast.parse(src)
    drop = set(names)
    cut = []
    for c in tree.body:
        if _is_test_class(c):
            methods = [m for m in c.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
            gone = [m for m in methods if c.name + "::" + m.name in drop]
            if gone and len(gone) == len(c.body):
                cut.append((_start(c), c.end_lineno))
            else:
                cut.extend((_start(m), m.end_lineno) for m in gone)
        elif isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef)) and c.name in drop:
            cut.append((_start(c), c.end_lineno))
    lines = src.splitlines(keepends=True)
    keep = [True] * len(lines)
    for a, b in cut:
        for i in range(a - 1, b):
            keep[i] = False
    out = "".join(l for l, k in zip(lines, keep) if k)
    while "\n\n\n\n" in out:
        out = out.replace("\n\n\n\n", "\n\n\n")
    return out


def _function_ranges(tree):
    """(qualname, first body line, last line) of every function, outer first."""
    out = []

    def visit(body, prefix):
        for n in body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                q = prefix + n.name
                out.append((q, n.body[0].lineno, n.end_lineno))
                visit(n.body, q + ".")
            elif isinstance(n, ast.ClassDef):
                visit(n.body, prefix + n.name + ".")
    visit(tree.body, "")
    return out


def _per_function(path, statements, executed, reported):
    """Line coverage per function: coverage.py's own figures when its JSON
    report has them (7.x), else statements assigned to the innermost
    function whose body holds them."""
    if reported:
        out = []
        for name, f in reported.items():
            if not name:
                continue
            s = f["summary"]
            n = s.get("num_statements", 0)
            out.append({"name": name, "percent": 100.0 * s.get("covered_lines", 0) / n if n else 100.0})
        return out
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    ranges = _function_ranges(tree)
    owner = {}
    for q, a, b in ranges:  # outer first: inner ones overwrite
        for line in statements:
            if a <= line <= b:
                owner[line] = q
    out = []
    for q, _a, _b in ranges:
        mine = [l for l, o in owner.items() if o == q]
        hit = [l for l in mine if l in executed]
        out.append({"name": q, "percent": 100.0 * len(hit) / len(mine) if mine else 100.0})
    return out


def _has_branches(path):
    from coverage.parser import PythonParser
    p = PythonParser(filename=path)
    p.parse_source()
    return any(n > 1 for n in p.exit_counts().values())


def cmd_report(rc, module, out_json):
    import coverage
    cov = coverage.Coverage(config_file=rc)
    cov.load()
    cov.json_report(morfs=[module], outfile=out_json)
    with open(out_json, encoding="utf-8") as fh:
        rep = json.load(fh)
    files = rep.get("files", {})
    if not files:
        raise SystemExit("coverage.py reported nothing for " + module)
    f = next(iter(files.values()))
    s = f["summary"]
    executed = set(f.get("executed_lines", []))
    statements = sorted(executed | set(f.get("missing_lines", [])))
    n = s["num_statements"]
    res = {
        "version": coverage.__version__,
        "statements": n,
        "percent": 100.0 * s["covered_lines"] / n if n else 100.0,
        "branch": None,
        "functions": _per_function(module, statements, executed, f.get("functions")),
    }
    branches = set()
    if "num_branches" in s:
        nb = s["num_branches"]
        res["branch"] = 100.0 * s["covered_branches"] / nb if nb else 100.0
        branches = {tuple(a) for a in f.get("executed_branches", []) + f.get("missing_branches", [])}
    elif not executed:
        # No data at all (no test imported the module): coverage.py reports
        # it as line data; nothing ran, so branch coverage is 0 % unless the
        # module has no branch.
        res["branch"] = 0.0 if _has_branches(module) else 100.0

    stmt_set = set(statements)

    def units(lines, arcs):
        u = ["L%d" % l for l in lines if l in stmt_set]
        u += ["B%d>%d" % a for a in (arcs or []) if a in branches]
        return u

    res["covered"] = units(executed, [tuple(a) for a in f.get("executed_branches", [])])
    data = cov.get_data()
    contexts = {}
    for ctx in sorted(data.measured_contexts()):
        data.set_query_context(ctx)
        contexts[ctx] = units(data.lines(module) or [], data.arcs(module) or [])
    res["contexts"] = contexts
    return res


def main():
    cmd = sys.argv[1]
    if cmd == "parse":
        json.dump(cmd_parse(sys.stdin.read()), sys.stdout)
    elif cmd == "remove":
        sys.stdout.write(cmd_remove(sys.stdin.read(), sys.argv[2:]))
    elif cmd == "report":
        json.dump(cmd_report(sys.argv[2], sys.argv[3], sys.argv[4]), sys.stdout)
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
