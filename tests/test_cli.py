"""The ``shangliao`` command line, driven in-process against a temporary data folder."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import types
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import click
import pytest
import typer
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import delete, select, update
from typer.testing import CliRunner, Result

from shangliao.auth.models import Credential, Staff
from shangliao.auth.passwords import verify_password
from shangliao.auth.service import login
from shangliao.cli.main import app
from shangliao.config import get_settings
from shangliao.core import clock
from shangliao.jobs.models import ConsumerCursor
from shangliao.runtime import Runtime
from shangliao.shops.models import Shop
from shangliao.storage import migrate
from tests.support.backends import postgres_database

PASSWORD = "correct horse battery"
CLI_DIR = Path(__file__).resolve().parent.parent / "src" / "shangliao" / "cli"
CLI_PO = CLI_DIR.parent / "locale" / "zh_CN" / "LC_MESSAGES" / "cli.po"


@dataclass
class Cli:
    data_dir: Path

    def __call__(self, *args: str) -> Result:
        get_settings.cache_clear()  # each command reads the environment afresh, like a new process
        return CliRunner().invoke(app, list(args))

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "shangliao.db"

    def runtime(self) -> Runtime:
        get_settings.cache_clear()
        return Runtime.build(get_settings())


@pytest.fixture
def cli(tmp_path, monkeypatch) -> Cli:
    data = tmp_path / "data"
    monkeypatch.setenv("SHANGLIAO_DATA_DIR", str(data))
    for var in (
        "SHANGLIAO_DATABASE_URL",
        "SHANGLIAO_SECRET_KEY",
        "SHANGLIAO_REDIS_URL",
        "SHANGLIAO_PASSWORD",
        "LC_ALL",
        "LC_MESSAGES",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")  # English messages, whatever the developer's terminal says
    yield Cli(data)
    get_settings.cache_clear()


@pytest.fixture
def uvicorn_calls(monkeypatch) -> list[dict]:
    """Record what ``serve`` would start instead of starting a server."""
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    return calls


def init_with_shop(cli: Cli, slug: str = "tea", owner: str = "alice") -> Result:
    return cli.ok(
        "init", "--shop-slug", slug, "--shop-name", "小茶铺", "--owner", owner, "--password", PASSWORD
    )


def staff_named(cli: Cli, username: str):
    """The account's columns as a row (it outlives the session), or None."""
    rt = cli.runtime()
    try:
        with rt.db.read() as session:
            return session.execute(
                select(Staff.id, Staff.shop_id, Staff.role, Staff.display_name, Staff.password_hash).where(
                    Staff.username == username
                )
            ).first()
    finally:
        rt.close()


# --- init ---------------------------------------------------------------------------------------


def test_init_creates_a_private_key_file_and_a_migrated_database(cli):
    result = cli.ok("init")
    assert stat.S_IMODE(cli.key_file.stat().st_mode) == 0o600
    assert (cli.data_dir / "uploads").is_dir()
    assert migrate.current(f"sqlite:///{cli.db_file}") == migrate.head()
    assert "shangliao serve" in result.output
    assert "matches the models" in cli.ok("db", "check").output


def test_init_with_options_creates_the_first_shop_and_owner_without_prompting(cli):
    result = init_with_shop(cli)
    assert "Created shop tea" in result.output
    owner = staff_named(cli, "alice")
    assert owner is not None and owner.role == "owner"
    assert verify_password(owner.password_hash, PASSWORD)


def test_running_init_again_keeps_the_key_shops_and_accounts(cli):
    init_with_shop(cli)
    key_before = cli.key_file.read_text()
    # when init runs again, bare and with the same first-shop options
    cli.ok("init")
    again = cli.ok("init", "--shop-slug", "tea", "--owner", "alice", "--password", "another password")
    # then nothing was replaced
    assert "exists already" in again.output
    assert cli.key_file.read_text() == key_before
    assert verify_password(staff_named(cli, "alice").password_hash, PASSWORD)
    assert "tea" in cli.ok("shop", "list").output


def test_init_needs_both_slug_and_owner_for_a_first_shop(cli):
    result = cli("init", "--shop-slug", "tea")
    assert result.exit_code == 2
    assert "--owner" in result.output
    assert not cli.data_dir.exists()


def test_a_missing_password_without_a_terminal_is_refused_not_prompted(cli):
    cli.ok("init")
    result = cli("init", "--shop-slug", "tea", "--owner", "alice")
    assert result.exit_code == 2
    assert "--password" in result.output
    assert "tea" not in cli.ok("shop", "list").output


def test_the_global_data_dir_option_chooses_the_folder(cli, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    cli.ok("--data-dir", str(elsewhere), "init")
    assert (elsewhere / "secret.key").exists()
    assert (elsewhere / "shangliao.db").exists()


# --- safety checks ---------------------------------------------------------------------------------


def test_commands_before_init_ask_for_init_and_create_nothing(cli):
    for args in (["shop", "list"], ["db", "check"], ["serve"]):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert "shangliao init" in result.output
    assert not cli.db_file.exists()


def test_a_database_without_its_key_is_refused_and_no_new_key_is_made(cli):
    cli.ok("init")
    cli.key_file.unlink()
    for args in (["shop", "list"], ["init"]):
        result = cli(*args)
        assert result.exit_code == 1
        assert "secret key" in result.output
    assert not cli.key_file.exists()


def test_db_check_fails_and_names_the_difference_when_the_schema_drifted(cli):
    cli.ok("init")
    with sqlite3.connect(cli.db_file) as conn:
        conn.execute("DROP INDEX ix_credentials_staff_id")
    result = cli("db", "check")
    assert result.exit_code == 1
    assert "ix_credentials_staff_id" in result.output


def test_db_current_reports_the_revision(cli):
    assert "not initialised" in cli.ok("db", "current").output
    cli.ok("db", "upgrade")
    out = cli.ok("db", "current").output
    assert migrate.head() in out and "Up to date" in out


# --- shops and users -------------------------------------------------------------------------------


def test_shop_create_and_list(cli):
    cli.ok("init")
    assert "No shops yet" in cli.ok("shop", "list").output
    cli.ok("shop", "create", "--slug", "tea", "--name", "小茶铺")
    cli.ok(
        "shop",
        "create",
        "--slug",
        "shoes",
        "--name",
        "[b]Shoes[/b]",
        "--owner",
        "bob",
        "--password",
        PASSWORD,
    )
    listing = cli.ok("shop", "list").output
    assert "tea" in listing and "小茶铺" in listing
    assert "[b]Shoes[/b]" in listing  # names are shown as typed, not as Rich markup
    assert staff_named(cli, "bob") is not None


def test_a_taken_shop_slug_is_refused_with_its_code(cli):
    cli.ok("init")
    cli.ok("shop", "create", "--slug", "tea", "--name", "小茶铺")
    result = cli("shop", "create", "--slug", "tea", "--name", "Other")
    assert result.exit_code == 1
    assert "shop.slug_taken" in result.output
    assert "Other" not in cli.ok("shop", "list").output


def test_user_create_adds_an_account_to_the_shop(cli):
    init_with_shop(cli)
    cli.ok(
        "user",
        "create",
        "--shop",
        "tea",
        "--username",
        "bob",
        "--display-name",
        "小王",
        "--password",
        PASSWORD,
    )
    bob = staff_named(cli, "bob")
    alice = staff_named(cli, "alice")
    assert bob.shop_id == alice.shop_id and bob.display_name == "小王"


def test_user_create_in_an_unknown_shop_is_refused(cli):
    cli.ok("init")
    result = cli("user", "create", "--shop", "nope", "--username", "bob", "--password", PASSWORD)
    assert result.exit_code == 1
    assert "shop.not_found" in result.output
    assert staff_named(cli, "bob") is None


def test_user_passwd_changes_the_password_and_revokes_sessions(cli):
    init_with_shop(cli)
    rt = cli.runtime()
    try:
        login(rt.db, "alice", PASSWORD, days=1)
    finally:
        rt.close()
    result = cli.ok("user", "passwd", "alice", "--password", "a brand new secret")
    assert "signed out" in result.output
    alice = staff_named(cli, "alice")
    assert verify_password(alice.password_hash, "a brand new secret")
    assert not verify_password(alice.password_hash, PASSWORD)
    rt = cli.runtime()
    try:
        with rt.db.read() as session:
            revoked = session.scalars(
                select(Credential.revoked_at).where(Credential.staff_id == alice.id)
            ).all()
    finally:
        rt.close()
    assert revoked and all(at is not None for at in revoked)


def test_user_passwd_refuses_a_weak_password_and_keeps_the_old_one(cli):
    init_with_shop(cli)
    result = cli("user", "passwd", "alice", "--password", "short")
    assert result.exit_code == 1
    assert "auth.weak_password" in result.output
    assert verify_password(staff_named(cli, "alice").password_hash, PASSWORD)


def test_user_passwd_for_an_unknown_account_is_refused(cli):
    cli.ok("init")
    result = cli("user", "passwd", "nobody", "--password", PASSWORD)
    assert result.exit_code == 1
    assert "No account named nobody" in result.output


# --- serve -------------------------------------------------------------------------------------------


def test_serve_refuses_several_workers_on_sqlite(cli, uvicorn_calls):
    cli.ok("init")
    result = cli("serve", "--workers", "2")
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output
    assert uvicorn_calls == []


def test_worker_refuses_sqlite(cli):
    cli.ok("init")
    result = cli("worker")
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output and "shangliao serve" in result.output


def test_on_postgresql_a_worker_runs_until_told_to_stop(cli, monkeypatch):
    with postgres_database() as url:
        monkeypatch.setenv("SHANGLIAO_DATABASE_URL", url)
        cli.ok("init")
        env = {**os.environ, "SHANGLIAO_WORKER_POLL_SECONDS": "0.2"}
        process = subprocess.Popen(
            [sys.executable, "-m", "shangliao.cli.main", "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert "Running background jobs" in process.stdout.readline()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            process.kill()
        get_settings.cache_clear()


def test_serve_runs_the_app_factory(cli, uvicorn_calls):
    cli.ok("init")
    cli.ok("serve", "--port", "8123")
    (call,) = uvicorn_calls
    assert call["app"] == "shangliao.app:serving_app"
    assert call["factory"] is True
    assert (call["host"], call["port"], call["workers"]) == ("127.0.0.1", 8123, 1)


def test_on_postgresql_init_migrates_and_serve_allows_several_workers(cli, monkeypatch, uvicorn_calls):
    with postgres_database() as url:
        monkeypatch.setenv("SHANGLIAO_DATABASE_URL", url)
        init_with_shop(cli)
        cli.ok("db", "check")
        assert "tea" in cli.ok("shop", "list").output
        cli.ok("serve", "--workers", "2")
        assert uvicorn_calls[0]["workers"] == 2
        get_settings.cache_clear()
    assert not cli.db_file.exists()  # the data folder holds the key, not a SQLite database


def test_demo_seeds_once_prints_the_login_and_serves(cli, monkeypatch, uvicorn_calls):
    from shangliao.cli import seeding
    from shangliao.demo.shop import STEP_ORDERS
    from shangliao.shops.service import do_create_shop

    seeded = []

    def seed_demo_shop(rt, progress):
        with rt.db.write() as session:
            do_create_shop(session, slug=seeding.DEMO_SHOP_SLUG, name="演示小店")
        for done in range(4):
            progress(STEP_ORDERS, done, 3)
        seeded.append(True)
        return seeding.DEMO_SHOP_SLUG, seeding.DEMO_USERNAME, seeding.DEMO_PASSWORD

    monkeypatch.setattr(seeding, "seed_demo_shop", seed_demo_shop)
    first = cli.ok("demo")
    again = cli.ok("demo")
    assert seeded == [True]  # the second run kept the shop instead of seeding again
    assert "Creating the demo shop" in first.output  # the step being shown, and how far it got
    assert "Orders of the last 90 days" in first.output and "3/3" in first.output
    for result in (first, again):
        assert "http://127.0.0.1:8000" in result.output
        assert seeding.DEMO_PASSWORD in result.output
        assert "demo-xiaowang" in result.output and "夜班小陈" in result.output  # the team's logins
    assert "exists already" in again.output
    assert len(uvicorn_calls) == 2


# --- orders archive ----------------------------------------------------------------------------------


def test_orders_archive_passes_the_shop_and_cutoff(cli, monkeypatch):
    init_with_shop(cli)
    calls = []
    fake = types.ModuleType("shangliao.orders.archive")

    def archive_older_than(db, shop_id, cutoff, *, progress=None):
        calls.append((shop_id, cutoff))
        progress(3)
        return 3

    fake.archive_older_than = archive_older_than
    monkeypatch.setitem(sys.modules, "shangliao.orders.archive", fake)

    result = cli.ok("orders", "archive", "--older-than", "30d", "--shop", "tea")
    everywhere = cli.ok("orders", "archive", "--older-than", "12h")

    assert "Archived 3 orders" in result.output and "Archived 3" in everywhere.output
    (shop_id, cutoff), (all_shops, cutoff_12h) = calls
    assert shop_id == staff_named(cli, "alice").shop_id and all_shops is None
    assert abs(clock.now() - timedelta(days=30) - cutoff) < timedelta(minutes=1)
    assert abs(clock.now() - timedelta(hours=12) - cutoff_12h) < timedelta(minutes=1)


def test_orders_archive_runs_with_the_real_orders_domain(cli):
    init_with_shop(cli)
    assert "Archived 0 orders" in cli.ok("orders", "archive", "--older-than", "2w", "--shop", "tea").output


def test_orders_archive_refuses_a_duration_it_cannot_read(cli):
    cli.ok("init")
    result = cli("orders", "archive", "--older-than", "a month")
    assert result.exit_code == 2
    assert "30d" in result.output


def test_stats_rebuild_makes_a_shops_figures_and_refuses_an_unknown_shop(cli):
    init_with_shop(cli)
    cli.ok("shop", "create", "--slug", "shoes", "--name", "鞋铺")
    rt = cli.runtime()
    try:  # as a shop made before the figures existed: the consumer does not follow it
        with rt.db.write() as session:
            session.execute(delete(ConsumerCursor).where(ConsumerCursor.consumer == "stats"))
    finally:
        rt.close()

    assert "Rebuilt the figures of 1 shops from 0 orders." in cli.ok("stats", "rebuild", "tea").output
    rt = cli.runtime()
    try:
        with rt.db.read() as session:
            followed = set(
                session.scalars(
                    select(Shop.slug)
                    .join(ConsumerCursor, ConsumerCursor.shop_id == Shop.id)
                    .where(ConsumerCursor.consumer == "stats")
                )
            )
    finally:
        rt.close()
    assert followed == {"tea"}
    assert "of 2 shops" in cli.ok("stats", "rebuild").output
    result = cli("stats", "rebuild", "nowhere")
    assert result.exit_code == 1 and "shop.not_found" in result.output


# --- help and translations ------------------------------------------------------------------------------


def all_commands(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from all_commands(sub, (*path, name))


def test_every_command_and_option_explains_itself():
    root = typer.main.get_command(app)
    for path, command in all_commands(root):
        assert (command.help or "").strip(), f"shangliao {' '.join(path)} has no help"
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help",):
                assert (param.help or "").strip(), f"shangliao {' '.join(path)} {param.opts} has no help"
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, result.output


def test_every_cli_message_has_a_chinese_translation():
    marked = {msg for _f, _l, msg, _c, _x in extract_from_dir(CLI_DIR, keywords={"N_": None})}
    # N_() inside f-strings is invisible to the extractor; find those by pattern.
    for source in CLI_DIR.glob("*.py"):
        marked |= set(re.findall(r"N_\('([^']+)'\)", source.read_text()))
    # Each area keeps its own .po (cli.po, keys.po, ...); the terminal reads them all merged.
    translated = set()
    for po in sorted(CLI_PO.parent.glob("*.po")):
        with po.open("rb") as fh:
            translated |= {m.id for m in read_po(fh) if m.id and m.string}
    assert sorted(marked - translated) == []


def test_messages_follow_a_chinese_terminal(cli, monkeypatch):
    cli.ok("init")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    result = cli("serve", "--workers", "2")
    assert "需要 PostgreSQL" in result.output


def test_chat_verify_passes_an_intact_history_and_fails_an_edited_one(cli):
    from shangliao.chat import service
    from shangliao.chat.models import Message
    from shangliao.customers.models import Customer

    init_with_shop(cli)
    rt = cli.runtime()
    try:
        with rt.db.write() as session:
            customer = Customer(shop_id=staff_named(cli, "alice").shop_id, name="李四")
            session.add(customer)
            session.flush()
            conversation = service.do_open_conversation(session, customer.shop_id, customer.id)
            for text in ("在吗", "在的", "好"):
                service.do_send(
                    session, rt.keyring, customer.shop_id, conversation.id,
                    sender_type="customer", sender_id=customer.id, kind="text", body=text,
                )  # fmt: skip
        intact = cli.ok("chat", "verify", "--shop", "tea")
        signed = cli.ok("chat", "checkpoint")
        with rt.db.write() as session:
            session.execute(update(Message).where(Message.seq == 2).values(body="没有"))
    finally:
        rt.close()

    broken = cli("chat", "verify")

    assert "intact" in intact.output and "Signed 1" in signed.output
    assert broken.exit_code == 1 and "message 2" in broken.output and "Breaks found: 1." in broken.output


def test_chat_verify_checks_the_bytes_of_sent_files_in_the_uploads_folder(cli):
    from shangliao.chat import attachments, service
    from shangliao.customers.models import Customer

    init_with_shop(cli)
    rt = cli.runtime()
    content = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    try:
        incoming = rt.settings.uploads_dir / attachments.INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        upload = attachments.Upload(incoming / "invoice.part", filename="发票.pdf", size=len(content))
        upload.temp.write_bytes(content)
        upload.sha256.update(content)
        with rt.db.write() as session:
            customer = Customer(shop_id=staff_named(cli, "alice").shop_id, name="李四")
            session.add(customer)
            session.flush()
            conversation = service.do_open_conversation(session, customer.shop_id, customer.id)
            attachments.do_send_attachment(
                session, rt.keyring, rt.settings.uploads_dir, customer.shop_id, conversation.id,
                upload, attachments.examine(upload), sender_type="customer", sender_id=customer.id,
            )  # fmt: skip
        intact = cli.ok("chat", "verify")
        upload.placed.write_bytes(content.replace(b"1.4", b"1.7"))
    finally:
        rt.close()

    changed = cli("chat", "verify")

    assert "intact" in intact.output
    assert changed.exit_code == 1 and "message 1: attachment changed" in changed.output


def test_the_cli_exports_a_shop_with_a_progress_bar(cli):
    """`shangliao orders export`: every order of the shop, unmasked, to the file named."""
    cli.ok("init")
    slug = re.search(r"Seeded shop (\S+) with", cli.ok("seed", "--orders", "30").output).group(1)
    out = cli.data_dir / "orders.xlsx"

    result = cli.ok("orders", "export", slug, "--out", str(out))

    assert "Exported 30 orders" in result.output
    from openpyxl import load_workbook

    book = load_workbook(out, read_only=True)
    assert sum(1 for _ in book["订单"].iter_rows(min_row=2)) == 30
    bad = cli("orders", "export", slug, "--out", str(cli.data_dir / "orders.txt"))
    assert bad.exit_code != 0 and ".xlsx" in bad.output
