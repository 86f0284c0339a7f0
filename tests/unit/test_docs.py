"""The protocol document and the code agree."""

import json
import re
from pathlib import Path

from webims.protocol import CORE_ERROR_CODES

DOC = Path("docs/protocol.md").read_text()


def test_every_core_error_code_is_documented_with_its_meaning():
    for code, meaning in CORE_ERROR_CODES.items():
        assert re.search(rf"\| `{code}` +\| {re.escape(meaning)}", DOC), code


def test_every_json_example_in_the_protocol_document_parses():
    examples = re.findall(r"```json\n(.*?)```", DOC, re.S)
    assert len(examples) >= 8
    for example in examples:
        assert json.loads(example)["v"] == 1
