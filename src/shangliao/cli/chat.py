"""``shangliao chat verify``, ``chat checkpoint`` and ``chat verify-pack``: the chat history's tamper
evidence, and the signed evidence packs made from it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shangliao.cli.common import console, fail, open_runtime, reports_errors, say, settings, t
from shangliao.core.i18n import N_
from shangliao.shops.service import access_shop_by_slug

app = typer.Typer(rich_markup_mode="markdown", help="Chat history checks.", no_args_is_help=True)

ShopOption = Annotated[
    str | None, typer.Option("--shop", help="Only this shop (its slug); every shop when left out.")
]


def _shop_id(rt, shop: str | None) -> int | None:
    if not shop:
        return None
    with rt.db.read() as session:
        return access_shop_by_slug(session, shop).id


@app.command("verify")
@reports_errors
def verify(shop: ShopOption = None) -> None:
    """Check every conversation's hash chain and signed checkpoints; exit 1 on any break.

    A break means a message was changed, removed, inserted or hidden after it was written, a
    sent picture or file was replaced or deleted, or a conversation in the shop's signed list
    (written by `chat checkpoint`) is gone, or that list was deleted or swapped for an older one
    (the last signed generation is kept in the data folder, beside the key). Each one is listed
    with its conversation and message number.

    Example:  shangliao chat verify --shop tea
    """
    from shangliao.chat import generations
    from shangliao.chat.verify import verify as verify_chains

    with open_runtime() as rt:
        breaks = verify_chains(
            rt.db,
            rt.keyring,
            _shop_id(rt, shop),
            uploads_dir=rt.settings.uploads_dir,
            generations_file=generations.path_in(rt.settings.data_dir),
        )
    for b in breaks:
        console.print(_described(b))
    if breaks:
        say(N_("Breaks found: {n}. The chat history was changed after it was written."), n=len(breaks))
        raise typer.Exit(1)
    say(N_("Every conversation's history is intact."))


def _described(b) -> str:
    """A break where it was found: a message, a whole conversation, or the shop's signed list."""
    if b.conversation_id is None:
        return t(N_("Shop {shop}: {problem}"), shop=b.shop_id, problem=t(b.problem))
    if b.seq is None:
        return t(
            N_("Conversation {conversation}: {problem}"), conversation=b.conversation_id, problem=t(b.problem)
        )
    return t(
        N_("Conversation {conversation}, message {seq}: {problem}"),
        conversation=b.conversation_id,
        seq=b.seq,
        problem=t(b.problem),
    )


@app.command("checkpoint")
@reports_errors
def checkpoint(shop: ShopOption = None) -> None:
    """Sign the head of every conversation that moved since its last checkpoint, and each shop's
    list of conversations (run it hourly). Each list's generation is recorded in
    `chain-generations.json` in the data folder: back it up with the key file.

    Example:  shangliao chat checkpoint
    """
    from shangliao.chat import generations
    from shangliao.chat.verify import sign_heads

    with open_runtime() as rt:
        count = sign_heads(
            rt.db, rt.keyring, _shop_id(rt, shop), generations_file=generations.path_in(rt.settings.data_dir)
        )
    say(N_("Signed {n} conversation heads."), n=count)


@app.command("verify-pack")
@reports_errors
def verify_pack(
    pack: Annotated[
        Path,
        typer.Argument(
            help="The evidence pack as downloaded (.zip), or its PDF.", exists=True, dir_okay=False
        ),
    ],
    signature: Annotated[
        Path | None,
        typer.Argument(help="The pack's .sig.json, when PACK is the PDF alone.", exists=True, dir_okay=False),
    ] = None,
) -> None:
    """Check that an order's evidence pack is exactly the PDF this installation made and signed;
    exit 1 when it is not (a changed byte, another order's signature, another installation's key).

    Needs only the key file (the database is not read). A pack signed by a key since retired with
    `keys retire` no longer verifies.

    Examples:  shangliao chat verify-pack 证据包-26112600042.zip
               shangliao chat verify-pack evidence-26112600042.pdf evidence-26112600042.sig.json
    """
    from shangliao.core.crypto import Keyring
    from shangliao.documents import signing

    for path in (pack, signature):
        if path is not None and path.stat().st_size > signing.MAX_PACK_BYTES:
            fail(t(signing.NOT_A_PACK))
    if signature is None:
        found = signing.unpack(pack.read_bytes())
        if found is None:
            fail(t(signing.NOT_A_PACK))
        data, signed = found
    else:
        data, signed = pack.read_bytes(), signature.read_bytes()
    verdict = signing.verify(Keyring.from_settings(settings()), data, signed)
    if not verdict.ok:
        fail(t(verdict.message))
    say(verdict.message, **verdict.params)
