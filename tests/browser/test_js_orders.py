"""static/js/order-view.js, how the orders panel merges, labels and groups orders of every type
(docs/order-types.md), run under Node: table-driven, like tests/browser/test_js_decimal.py."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support.processes import ROOT

WAITING = {"order_id": 7, "symbol": "SOL_USDC", "type": "stop_limit", "status": "untriggered"}
TRIGGERED_MSG = {
    "e": "order",
    "E": 1_700_000_000_500,
    "update": "triggered",
    "order_id": 7,
    "symbol": "SOL_USDC",
    "type": "stop_limit",
    "status": None,
    "stop_price": "22.00",
    "list_id": None,
    "filled_quantity": "0",
}
LEGS = [
    {"order_id": 9, "symbol": "SOL_USDC", "list_id": 3, "status": "new"},
    {"order_id": 8, "symbol": "SOL_USDC", "list_id": None, "status": "new"},
    {"order_id": 5, "symbol": "SOL_USDC", "list_id": 3, "status": "untriggered"},
    {"order_id": 4, "symbol": "SOL_USDC", "list_id": None, "status": "new"},
]

CASES = [
    # (expression, expected)
    ("typeLabel('stop_limit')", "Stop-limit"),
    ("typeLabel('take_profit_market')", "Take-profit market"),
    ("typeLabel('limit')", "Limit"),
    ("statusLabel('untriggered')", "Waiting for trigger"),
    ("String(OPEN.has('untriggered'))", "true"),
    # a triggered update moves a waiting order into the book, even without a status
    ("fromMessage(TRIGGERED_MSG).status", "new"),
    ("openStatusLabel(mergeOrder(WAITING, fromMessage(TRIGGERED_MSG)))", "Triggered"),
    # null fields of a message never erase what is known
    ("String(fromMessage(TRIGGERED_MSG).list_id)", "undefined"),
    (
        "mergeOrder({...WAITING, stop_price: '22.00'}, fromMessage(TRIGGERED_MSG)).stop_price",
        "22.00",
    ),
    # a read older than the trigger does not put the order back to waiting
    ("mergeOrder({...WAITING, status: 'new'}, WAITING).status", "new"),
    ("mergeOrder({...WAITING, status: 'pending'}, WAITING).status", "untriggered"),
    ("mergeOrder(WAITING, {...WAITING, status: 'cancelled'}).status", "cancelled"),
    ("openStatusLabel(WAITING)", "Waiting for trigger"),
    ("openStatusLabel({...WAITING, status: 'new'})", "New"),
    ("openStatusLabel({...WAITING, status: 'new', trigger_price: '22.00'})", "Triggered"),
    # the legs of a list come together at the first leg's place, limit leg (lower id) first
    ("groupLists(LEGS).map((o) => o.order_id).join(',')", "5,9,8,4"),
    ("trailingLabel(150)", "1.5 %"),
    ("trailingLabel(2000)", "20 %"),
    ("trailingLabel(null)", ""),
]


def test_order_view_js_labels_merges_and_groups():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node.js with npm (apt-get install -y nodejs npm)")
    script = (
        "import { OPEN, fromMessage, groupLists, mergeOrder, openStatusLabel, trailingLabel,"
        " typeLabel } from './static/js/order-view.js';\n"
        "import { statusLabel } from './static/js/format.js';\n"
        f"const WAITING = {json.dumps(WAITING)};\n"
        f"const TRIGGERED_MSG = {json.dumps(TRIGGERED_MSG)};\n"
        f"const LEGS = {json.dumps(LEGS)};\n"
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
