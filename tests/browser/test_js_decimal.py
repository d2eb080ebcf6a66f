"""static/js/decimal.js, the browser's exact decimals, run under Node (installed with npm, which
the run and test commands need for the web UI's packages): table-driven, like the API's own
number tests. Prices, sizes and balances on the pages go through it, never through floats."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support.processes import ROOT

CASES = [
    # (expression over a, b, c parsed with Dec.of, expected string or null)
    ("Dec.parse('1.2.3')", None),
    ("Dec.parse('1e5')", None),
    ("Dec.parse(' 12')?.toString()", "12"),
    ("Dec.of('0.1').add(Dec.of('0.2')).toString()", "0.3"),
    ("Dec.of('20.00').mul(Dec.of('1.50')).toString()", "30.0000"),
    ("Dec.of('20.00').mul(Dec.of('1.50')).trimmed()", "30"),
    ("Dec.of('100').divFloor(Dec.of('3'), 2).toString()", "33.33"),
    ("Dec.of('-1').divFloor(Dec.of('3'), 0).toString()", "-1"),
    ("Dec.of('2.57').floorTo(Dec.of('0.1')).toString()", "2.5"),
    ("Dec.of('2.51').ceilTo(Dec.of('0.1')).toString()", "2.6"),
    ("String(Dec.of('20.005').isMultipleOf(Dec.of('0.01')))", "false"),
    ("String(Dec.of('20.010').isMultipleOf(Dec.of('0.01')))", "true"),
    (
        "Dec.of('123456789012345678901234567890.123456789012345678').add(Dec.of('0.000000000000000001')).toString()",
        "123456789012345678901234567890.123456789012345679",
    ),
    ("Dec.of('5').sub(Dec.of('7.25')).toString()", "-2.25"),
    ("Dec.of('0.5').fixed(3)", "0.500"),
    (
        "(() => { try { return Dec.of('0.505').fixed(2); } catch { return 'refused'; } })()",
        "refused",
    ),
    ("String(Dec.of('0.010').places)", "2"),
    ("String(Dec.of('1.10').cmp(Dec.of('1.1')))", "0"),
    ("grouped('1234567.0500')", "1,234,567.0500"),
    ("signedPercent('2.50')", "+2.50 %"),
]


def test_decimal_js_is_exact():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node.js with npm (apt-get install -y nodejs npm)")
    script = (
        "import { Dec } from './static/js/decimal.js';\n"
        "import { grouped, signedPercent } from './static/js/format.js';\n"
        f"const cases = {json.dumps([c for c, _ in CASES])};\n"
        "console.log(JSON.stringify(cases.map((c) => { const v = eval(c); return v ?? null; })));\n"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    got = json.loads(out.stdout)
    assert list(zip([c for c, _ in CASES], got, strict=True)) == [
        (c, expected) for c, expected in CASES
    ]
