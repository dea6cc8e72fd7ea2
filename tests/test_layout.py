"""Every Python file under tests/ is collected: a misnamed test file would silently never run."""

from __future__ import annotations

from pathlib import Path

SUPPORT = {"__init__.py", "conftest.py", "helpers.py", "once.py"}


def test_no_test_file_is_silently_skipped() -> None:
    tests = Path(__file__).parent
    stray = [
        str(path.relative_to(tests))
        for path in tests.rglob("*.py")
        if path.name not in SUPPORT and not path.name.startswith("test_")
    ]
    assert not stray, f"rename to test_*.py or make them helpers: {stray}"


def test_every_test_folder_is_a_package() -> None:
    """Folders of tests are packages (two test_x.py in plain folders would clash); fixture data is not code."""
    tests = Path(__file__).parent
    fixtures = tests / "fixtures"
    folders = [tests, *[p for p in tests.rglob("*") if p.is_dir() and p.name != "__pycache__"]]
    for folder in folders:
        if folder.is_relative_to(fixtures) and folder != fixtures and not any(folder.glob("test_*.py")):
            continue
        assert (folder / "__init__.py").is_file(), f"{folder} needs an __init__.py"
