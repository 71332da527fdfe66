from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from punkml.cli_options import echo_json_lines


def test_json_lines_are_one_compact_object_a_line_with_other_values_as_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    echo_json_lines([{"id": 1, "brewed": date(2007, 4, 1)}, {"abv": Decimal("4.5"), "ibu": None}])
    lines = capsys.readouterr().out.splitlines()
    assert lines == ['{"id":1,"brewed":"2007-04-01"}', '{"abv":"4.5","ibu":null}']
    assert [json.loads(line) for line in lines][1] == {"abv": "4.5", "ibu": None}
