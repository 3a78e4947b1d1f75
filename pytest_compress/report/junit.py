"""JUnit XML: every gated number as a ``<property>``, the way the plugin sets ``user_properties``.

In a pytest session the properties go on each test (pytest's ``--junitxml`` writes them);
a merge of shards runs no tests, so it writes the file itself, one ``<testcase>`` per gate test.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path


def properties(result) -> list[tuple[str, object]]:
    """``(name, value)`` pairs of a decided :class:`~pytest_compress.results.PairedResult`."""
    out = []
    for m in result.metrics.values():
        prefix = f"compress.{result.spec}.{m.full_name}"
        numbers = {"baseline": m.baseline.score, "compressed": m.compressed.score, "drop": m.drop,
                   "ci_low": m.interval[0], "ci_high": m.interval[1]}
        out.extend((f"{prefix}.{k}", round(v, 6)) for k, v in numbers.items())
        out.extend([(f"{prefix}.verdict", m.verdict.status), (f"{prefix}.passed", m.verdict.passed),
                    (f"{prefix}.limit", str(m.limit)), (f"{prefix}.n", m.n)])
        for c in m.checks:
            if not c.exact:
                out.extend([(f"{prefix}.{c.check.key}.status", c.status),
                            (f"{prefix}.{c.check.key}.resolution", round(c.resolution, 6)),
                            (f"{prefix}.{c.check.key}.n_to_decide", c.n_to_decide)])
    return out


def _names(nodeid: str) -> tuple[str, str]:
    """pytest's (classname, name) of a node id: ``tests/test_x.py::Cls::test_y`` -> ``tests.test_x.Cls``, ``test_y``."""
    parts = nodeid.split("::")
    path = parts[0][:-3] if parts[0].endswith(".py") else parts[0]
    return ".".join([path.replace("/", "."), *parts[1:-1]]), parts[-1]


def write_junit(path, results, tests, errors, suite_name: str = "pytest-compress") -> Path:
    """One testsuite: a testcase per ``(nodeid, _)`` of ``tests`` (parallel to ``results``), a
    ``<failure>`` for a failed gate, an ``<error>`` per ``(nodeid, message)`` of ``errors``."""
    suite = ET.Element("testsuite", name=suite_name)
    failures = 0
    for result, (nodeid, _) in zip(results, tests):
        classname, name = _names(nodeid)
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
        props = ET.SubElement(case, "properties")
        for key, value in properties(result):
            ET.SubElement(props, "property", name=key, value=str(value))
        if not result.passed:
            failures += 1
            message = result.failure_message()
            ET.SubElement(case, "failure", message=message.splitlines()[0]).text = message
    for nodeid, message in errors:
        classname, name = _names(nodeid)
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
        ET.SubElement(case, "error", message=message.splitlines()[0] if message else "").text = message
    suite.set("tests", str(len(results) + len(errors)))
    suite.set("failures", str(failures))
    suite.set("errors", str(len(errors)))
    suite.set("skipped", "0")
    root = ET.Element("testsuites", name="pytest-compress")
    root.append(suite)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
    return path
