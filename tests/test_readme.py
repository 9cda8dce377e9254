"""The README's examples, run as they stand: its ini block and every Python block, in one inner session."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```(?P<language>\w+)\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)


def readme_blocks(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [match["code"] for match in BLOCK.finditer(text) if match["language"] == language]


@pytest.mark.usefixtures("engine_left_clean")
def test_the_readme_examples_pass(pytester: pytest.Pytester) -> None:
    without_tests = shutil.ignore_patterns("tests")
    shutil.copytree(ROOT / "example_app", pytester.path / "example_app", ignore=without_tests)
    (ini,) = readme_blocks("ini")
    pytester.makeini(ini)
    examples = readme_blocks("python")
    for number, code in enumerate(examples):
        pytester.makepyfile(**{f"test_readme_{number}": code})
    tests = sum(code.count("\ndef test_") for code in examples)
    assert tests == 4
    pytester.runpytest().assert_outcomes(passed=tests)
