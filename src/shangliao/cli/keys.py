"""``shangliao keys``: the key ring that encrypts customers' phones and addresses.

``status`` shows the keys and which ones the data uses; ``new`` makes a new current key;
``rotate`` moves every value to it (``core/keys_rotate.py``); ``retire`` drops an older key once
nothing uses it. docs/operations.md "Keys" walks through a rotation.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shangliao.cli.common import console, fail, open_runtime, reports_errors, say, settings, t
from shangliao.core import keys, keys_data, keys_rotate
from shangliao.core.i18n import N_

app = typer.Typer(
    rich_markup_mode="markdown",
    help="The keys that encrypt customers' phones and addresses: status, new, rotate, retire.",
    no_args_is_help=True,
)


SIGNS = N_(
    "Key {id} still signs {n} chat checkpoints and chain lists: run `shangliao keys rotate` first. "
    "A server started before the current key was made signs with the old one: restart it, then rotate."
)
CARDS_KEEP_KEY = N_(
    "Key {id} still opens {n} chat card addresses, kept as sent (the chat history is evidence): "
    "keep it in the ring."
)


def _keyring_error(exc: keys.KeyringError) -> None:
    fail(t(exc.message, **exc.params))


def _in_use(rt) -> keys_data.Usage:
    with rt.db.read() as session:
        return keys_data.usage(session, rt.keyring)


@app.command("status")
@reports_errors
def status() -> None:
    """List the key ring (current key first) and how many stored values use each key.

    Works even when the data needs a key the ring lacks: it names that key, so you know which
    backup to restore.
    """
    with open_runtime(keys_needed=False) as rt:
        ring, found = rt.keyring, _in_use(rt)
        source = keys.source(rt.settings).describe()
    say(N_("Key ring ({source}):"), source=source)
    for i, kid in enumerate(ring.ids):
        say(N_("  {id}  current") if i == 0 else N_("  {id}  older"), id=kid)
    for place, counts in sorted(found.by_place.items()):
        for kid, n in sorted(counts.items()):
            missing = kid not in ring.ids
            message = (
                N_("  {place}: {n} under key {id} (NOT IN THE RING)")
                if missing
                else N_("  {place}: {n} under key {id}")
            )
            say(message, place=place, n=n, id=kid)
    for place, n in sorted(found.unsigned.items()):
        say(N_("  {place}: {n} signed by no key of the ring: run `shangliao chat verify`"), place=place, n=n)
    _say_whats_next(ring.current.hex_id, found)


def _say_whats_next(current: str, found: keys_data.Usage) -> None:
    rotation = keys_rotate.Rotation(current, usage=found)
    if rotation.done:
        say(N_("Every value uses the current key {id}."), id=current)
    else:
        say(N_("Values under older keys remain: run `shangliao keys rotate`."))


@app.command("new")
@reports_errors
def new() -> None:
    """Make a new current key in the key file; the older keys stay, so everything still reads.

    Back up the key file right after, restart the server (it also picks the key up the first time
    it reads a value under it), then run `shangliao keys rotate`.
    """
    try:
        kid = keys.add_key(settings())
    except keys.KeyringError as exc:
        _keyring_error(exc)
    say(N_("New current key {id} added to {path}. Back up this file now."), id=kid, path=settings().key_file)
    say(N_("Next: restart the server, then run `shangliao keys rotate`."))


@app.command("rotate")
@reports_errors
def rotate(
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=10_000, help="Rows per write transaction (default 500).")
    ] = keys_rotate.BATCH,
) -> None:
    """Re-encrypt every stored value (and recompute phone search hashes) under the current key.

    Runs in short batches while the shop keeps working. Safe to stop and run again: it goes on
    where it was. When it finishes it says which older keys nothing uses any more.
    """
    with open_runtime() as rt:
        total = keys_rotate.total_rows(rt.db)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(t(N_("Re-encrypting")), total=total)

            def advance(label: str, rows: int) -> None:
                progress.update(task, advance=rows, description=f"{t(N_('Re-encrypting'))} {label}")

            result = keys_rotate.rotate(rt.db, rt.keyring, batch=batch, after_batch=advance)
        keys_rotate.record_rotation(rt.db, result)
        older = rt.keyring.ids[1:]
    say(N_("Values moved to key {id}: {n}."), id=result.current, n=sum(result.moved.values()))
    if not result.done:
        say(
            N_(
                "Some values are still under older keys (written meanwhile by a server started before "
                "the new key): restart the server and run `shangliao keys rotate` again."
            )
        )
        _say_left(result)
        raise typer.Exit(1)
    say(N_("Every value now uses key {id}."), id=result.current)
    cards = result.usage.by_place.get(keys_data.CARDS_LABEL, {})
    for kid in older:
        if cards.get(kid):
            say(CARDS_KEEP_KEY, id=kid, n=cards[kid])
        else:
            say(N_("Key {id} is no longer used: keep a backup, then `shangliao keys retire {id}`."), id=kid)


def _say_left(result: keys_rotate.Rotation) -> None:
    """Where the values still under older keys are, signatures included."""
    for place, counts in sorted(result.usage.by_place.items()):
        if place == keys_data.CARDS_LABEL:
            continue
        for kid, n in sorted(counts.items()):
            if n and kid != result.current:
                say(N_("  {place}: {n} under key {id}"), place=place, n=n, id=kid)


@app.command("retire")
@reports_errors
def retire(
    key_id: Annotated[str, typer.Argument(help="The id of the older key to drop (see `keys status`).")],
) -> None:
    """Drop an older key from the key ring; refused while any stored value still uses it (or any
    chat checkpoint or chain list is still signed with it)."""
    kid = key_id.strip().lower()
    with open_runtime(keys_needed=False) as rt:
        found = _in_use(rt)
        in_use = found.total(kid)
        on_cards = found.by_place.get(keys_data.CARDS_LABEL, {}).get(kid, 0)
        signed = in_use - found.total(kid, besides=keys_data.SIGNED_LABELS)
        if in_use and in_use == on_cards:
            fail(t(CARDS_KEEP_KEY, id=kid, n=on_cards))
        if in_use and in_use == signed:
            # Dropping it now would make every one of them a break that `chat verify` reports.
            fail(t(SIGNS, id=kid, n=signed))
        if in_use:
            fail(
                t(
                    N_(
                        "Key {id} still encrypts {n} stored values: run `shangliao keys rotate` first "
                        "(`shangliao keys status` shows where)."
                    ),
                    id=kid,
                    n=in_use,
                )
            )
        try:
            keys.remove_key(rt.settings, kid)
        except keys.KeyringError as exc:
            _keyring_error(exc)
        keys_rotate.record_retirement(rt.db, kid)
    say(
        N_(
            "Key {id} removed from the key ring. Keep your backup of it until older backups of the data expire."
        ),
        id=kid,
    )
