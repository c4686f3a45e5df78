import pytest


@pytest.fixture(autouse=True)
def _cache_dir(monkeypatch, tmp_path_factory):
    """Generated data goes to one temporary cache per test session, never ~/.cache."""
    monkeypatch.setenv("ARCHOPT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
