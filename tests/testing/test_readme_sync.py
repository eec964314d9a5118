"""The README's pytest example is the file our suite runs, verbatim."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_shows_the_example_that_runs() -> None:
    example = (ROOT / "tests" / "testing" / "test_readme_example.py").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```python\n{example}```\n" in readme, (
        "README.md must include tests/testing/test_readme_example.py verbatim"
    )
