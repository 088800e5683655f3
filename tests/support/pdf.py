"""Reading the PDFs the documents print, as a person's viewer would: their text (pdftotext), their
fonts (pdffonts), their pages as pictures (pdftoppm) and the codes scanned off those pictures
(zbarimg). ``SHANGLIAO_TEST_REQUIRE=pdf`` (CI) makes a missing tool a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from tests.support.backends import unavailable

POPPLER = "poppler-utils"
TOOLS = {
    "pdftotext": POPPLER,
    "pdffonts": POPPLER,
    "pdftoppm": POPPLER,
    "pdfinfo": POPPLER,
    "pdfimages": POPPLER,
    "zbarimg": "zbar-tools",
}


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        unavailable("pdf", f"{args[0]} is not installed (apt-get install {TOOLS[args[0]]})")
    return subprocess.run(args, capture_output=True, check=False, timeout=60, **kw)


def _saved(data: bytes, folder: Path, name: str = "doc.pdf") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def text_of(data: bytes, folder: Path) -> str:
    """The PDF's text, as a reader copies it out (pdftotext's raw order: no layout guessing)."""
    done = _run(["pdftotext", "-raw", str(_saved(data, folder)), "-"])
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


def fonts_of(data: bytes, folder: Path) -> list[dict[str, str]]:
    """Each font the PDF names: its name and whether it is embedded."""
    done = _run(["pdffonts", str(_saved(data, folder))])
    assert done.returncode == 0, done.stderr
    rows = done.stdout.decode().splitlines()[2:]
    # name type encoding emb sub uni id gen: the name may hold spaces, the last six columns do not
    out = []
    for row in rows:
        parts = row.split()
        out.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return out


def pages_count(data: bytes, folder: Path) -> int:
    done = _run(["pdfinfo", str(_saved(data, folder))])
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.decode().splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def no_fonts_config(folder: Path) -> dict[str, str]:
    """An environment whose fontconfig knows no font at all (an empty folder): a page renders
    only with the fonts the PDF carries, like a reader's machine without Chinese fonts."""
    empty, cache = folder / "no-fonts", folder / "font-cache"
    empty.mkdir(exist_ok=True)
    cache.mkdir(exist_ok=True)
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        f"<fontconfig><dir>{empty}</dir><cachedir>{cache}</cachedir></fontconfig>\n"
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf), "FONTCONFIG_PATH": str(folder)}


def page_image(
    data: bytes, folder: Path, *, page: int = 1, dpi: int = 100, env: dict | None = None
) -> Image.Image:
    """Page ``page`` rendered to a picture (pdftoppm), greyscale."""
    source = _saved(data, folder, f"page-{page}-{dpi}.pdf")
    stem = folder / f"page-{page}-{dpi}"
    done = _run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", str(page), "-l", str(page),
                 "-singlefile", str(source), str(stem)], env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Image.open(stem.with_suffix(".png")) as image:
        return image.convert("L")


def scanned(image: Image.Image, folder: Path) -> set[str]:
    """What zbarimg reads off a picture: ``CODE-128:…`` and ``QR-Code:…``."""
    path = folder / "scan.png"
    image.save(path)
    done = _run(["zbarimg", "--quiet", str(path)])
    assert done.returncode in (0, 4), done.stderr  # 4: nothing found
    return {line for line in done.stdout.decode().splitlines() if line}


def images_of(data: bytes, folder: Path) -> list[tuple[int, int]]:
    """The pictures the PDF embeds, as (width, height) in pixels (pdfimages)."""
    done = _run(["pdfimages", "-list", str(_saved(data, folder))])
    assert done.returncode == 0, done.stderr
    rows = done.stdout.decode().splitlines()[2:]
    return [(int(row.split()[3]), int(row.split()[4])) for row in rows]
