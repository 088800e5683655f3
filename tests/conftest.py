"""Every database test runs on SQLite and on PostgreSQL (when reachable), in a fresh shop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shangliao.app import create_app
from shangliao.config import Settings
from shangliao.core import clock
from shangliao.runtime import Runtime
from shangliao.shops import settings_cache
from shangliao.storage import migrate
from tests.support.backends import database_url
from tests.support.browser import no_csp_violations_fixture  # noqa: F401 (autouse: browser tests)
from tests.support.catalog import make_product
from tests.support.console import sign_in
from tests.support.shops import ShopFixture, make_shop

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session", params=BACKENDS)
def runtime(request, tmp_path_factory) -> Runtime:
    folder = tmp_path_factory.mktemp(request.param)
    with database_url(request.param, folder) as url:
        # Refusals are answered at once here (test_refusal_pacing.py checks the pause).
        # No job worker in the servers tests start: a test runs the worker it means to (its timer
        # would otherwise sign every test's conversations and sweep every shop mid-test).
        settings = Settings(
            data_dir=folder / "data", database_url=url, secret_key="00" * 32, refusal_pause=0, worker="off"
        )
        migrate.upgrade(url)  # the same migrations an operator runs, on both databases
        rt = Runtime.build(settings)
        try:
            yield rt
        finally:
            rt.close()


@pytest.fixture(scope="session")
def app(runtime: Runtime):
    return create_app(runtime=runtime)


@pytest.fixture
def anon(app) -> TestClient:
    """A client with no credentials."""
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def shop(runtime: Runtime, app) -> ShopFixture:
    return make_shop(runtime, app)


@pytest.fixture
def console(app, shop) -> TestClient:
    """The shop owner's console, signed in through the login form."""
    return sign_in(app, shop)


@pytest.fixture
def tee(runtime, shop):
    """A T-shirt with stock to spare (modules that need another stock or options define their own)."""
    return make_product(runtime, shop, name="纯棉T恤", stock=50, price=5900)


@pytest.fixture
def other_shop(runtime: Runtime, app) -> ShopFixture:
    return make_shop(runtime, app)


@pytest.fixture(autouse=True)
def _fresh_settings_cache() -> None:
    """Shop ids repeat across the two backends' databases: no test sees another's cached settings."""
    settings_cache.clear()


@pytest.fixture
def frozen() -> Iterator:
    """Pin the clock where a test says (``frozen(moment)``); released afterwards."""
    yield clock.freeze
    clock.freeze(None)
