"""Shared fixtures: the small test registry, its trust list and its TEST signing keys."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from xcert import trust as trustmod
from xcert import tufrepo
from xcert.load import load_registry
from xcert.token import Claims, sign

FIXTURE_REGISTRY = Path(__file__).parent / "fixtures" / "registry"
CST = dt.timezone(dt.timedelta(hours=8))


def fixture_key(n: int) -> SigningKey:
    """care-org's published TEST keys (see tests/fixtures/registry/README.md)."""
    return SigningKey(f"fixture-org-key-{n}".encode().ljust(32, b"."))


def at(day: str, hour: int = 12) -> int:
    """Unix seconds for noon China Standard Time on an ISO day."""
    return int(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), CST).timestamp())


def claims(**overrides: Any) -> Claims:
    values: dict[str, Any] = {
        "version": 1,
        "certificate": "old-care",
        "level": 2,
        "serial": "2023000000000001",
        "holder_name": "王小明",
        "id_tail": "123X",
        "issued_at": at("2023-01-10"),
        "college": "test-care-college",
    }
    values.update(overrides)
    return Claims(**values)


@pytest.fixture(scope="session")
def registry():  # type: ignore[no-untyped-def]
    result = load_registry(FIXTURE_REGISTRY)
    assert result.ok, [p.format() for p in result.errors]
    return result.registry


@pytest.fixture(scope="session")
def trust_json(registry) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {**json.loads(trustmod.dumps(trustmod.build_trust_list(registry))), "version": "test"}


SignedRepo = tufrepo.ScratchRepo


@pytest.fixture(scope="session")
def signed_repo(tmp_path_factory: pytest.TempPathFactory) -> SignedRepo:
    return SignedRepo(tmp_path_factory.mktemp("signed-repo"))


@pytest.fixture
def make_trust(trust_json) -> Callable[..., trustmod.TrustList]:  # type: ignore[no-untyped-def]
    """A trust list, optionally changed by a function of its JSON (one rule per test)."""

    def make(change: Callable[[dict[str, Any]], None] | None = None) -> trustmod.TrustList:
        data = json.loads(json.dumps(trust_json))
        if change is not None:
            change(data)
        return trustmod.TrustList.from_json(data)

    return make


@pytest.fixture
def signed() -> Callable[..., bytes]:
    def make(key: int = 2, **overrides: Any) -> bytes:
        return sign(claims(**overrides), fixture_key(key))

    return make


# ---------------------------------------------------------------- browser tests

CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by test.sh
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium driven by Playwright, one per test module."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (bash test.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# ---------------------------------------------------------------- national-scale site


@pytest.fixture(scope="session")
def national_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The national synthetic registry and its built site (registry dir, site dir), built once.

    example=False: the synthetic entries count, so statistics and charts are drawn at
    national size. Building it takes 30 s to 2 min on two cores: every slow test that needs
    it shares this one.
    """
    import build
    from xcert import synth

    root = tmp_path_factory.mktemp("national")
    synth.generate(root / "registry", "national", example=False)
    assert build.main(["site", "--registry", str(root / "registry"), "--out", str(root / "site")]) == 0
    return root / "registry", root / "site"
