"""What an uploaded file really is, judged from its bytes; and the name it is shown under.

The client's filename and Content-Type are claims anyone can forge, so neither decides anything:
the first bytes do. Only what a shop and its customers actually exchange is let in:

- photos: JPEG, PNG, GIF, WebP, the four formats every browser shows, and the only ones ever
  served inline (a customer's photo of a damaged parcel must open in the chat, not download);
- PDF (invoices, quotes), Office files (docx/xlsx/pptx: price lists, order sheets), plain UTF-8
  text (CSV exports, notes) and MP4/QuickTime videos (unboxing and damage videos are the evidence
  of an after-sales dispute; iPhones record QuickTime);
- everything else is refused: HTML, SVG and XML run script when a browser opens them, executables
  and scripts are what a phishing "invoice" really is, and an unknown binary cannot be vouched for.
"""

from __future__ import annotations

import codecs
import re
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_

HEAD = 4096
MAX_STEM = 100


@dataclass(frozen=True)
class FileType:
    label: str
    mime: str
    kind: Literal["image", "file"]
    extensions: tuple[str, ...]  # the first one is what a mismatched name gets

    @property
    def inline(self) -> bool:
        return self.kind == "image"


_OOXML = "application/vnd.openxmlformats-officedocument."
TYPES = {
    t.label: t
    for t in (
        FileType("jpeg", "image/jpeg", "image", ("jpg", "jpeg", "jfif")),
        FileType("png", "image/png", "image", ("png",)),
        FileType("gif", "image/gif", "image", ("gif",)),
        FileType("webp", "image/webp", "image", ("webp",)),
        FileType("pdf", "application/pdf", "file", ("pdf",)),
        FileType("docx", _OOXML + "wordprocessingml.document", "file", ("docx",)),
        FileType("xlsx", _OOXML + "spreadsheetml.sheet", "file", ("xlsx",)),
        FileType("pptx", _OOXML + "presentationml.presentation", "file", ("pptx",)),
        FileType("mp4", "video/mp4", "file", ("mp4", "m4v")),
        FileType("mov", "video/quicktime", "file", ("mov",)),
        FileType("text", "text/plain; charset=utf-8", "file", ("txt", "csv", "tsv", "log", "md")),
    )
}
DOWNLOAD_MIMES = sorted({t.mime for t in TYPES.values()})

# Where each Office application keeps its main part inside the zip.
_OOXML_PARTS = (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx"))
_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}
_MOV_BRANDS = {b"qt  "}
_EXECUTABLES = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
# A browser that guesses decides "HTML" from tags near the start; text carrying them is refused
# even though downloads are never sniffed or shown inline, in case it is opened from a disk later.
_MARKUP = re.compile(
    r"<\s*(!doctype|html|head|body|script|svg|iframe|object|embed|meta|\?xml|\?php|a\s|img\s|style)",
    re.IGNORECASE,
)
# Text may hold tabs, line and page breaks; other control characters mean it is not text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Sniffed:
    type: FileType
    width: int | None = None
    height: int | None = None


def _refused(detected: str) -> Invalid:
    return Invalid(
        "attachment.type_refused",
        N_(
            "This kind of file cannot be sent. Send a photo (JPEG, PNG, GIF, WebP), a PDF, "
            "an Office document, a text file or an MP4 video."
        ),
        details={"detected": detected},
    )


def sniff(path: Path) -> Sniffed:
    """The file's type from its bytes (and an image's size from its header), or a refusal."""
    with path.open("rb") as fh:
        head = fh.read(HEAD)
        if not head:
            raise Invalid("attachment.empty", N_("The file is empty."))
        image = _image(fh, head)
        if image is not None:
            return image
    if head.startswith(b"%PDF-"):
        return Sniffed(TYPES["pdf"])
    if head.startswith(b"PK\x03\x04"):
        return Sniffed(TYPES[_office(path)])
    if head[4:8] == b"ftyp" and head[8:12] in _MP4_BRANDS:
        return Sniffed(TYPES["mp4"])
    if head[4:8] == b"ftyp" and head[8:12] in _MOV_BRANDS:
        return Sniffed(TYPES["mov"])
    if head.startswith(_EXECUTABLES):
        raise _refused("executable")
    _check_text(path)
    return Sniffed(TYPES["text"])


def _image(fh: BinaryIO, head: bytes) -> Sniffed | None:
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(TYPES["jpeg"], *_jpeg_size(fh))
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        size = struct.unpack(">II", head[16:24]) if head[12:16] == b"IHDR" else (None, None)
        return Sniffed(TYPES["png"], *size)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        size = struct.unpack("<HH", head[6:10]) if len(head) >= 10 else (None, None)
        return Sniffed(TYPES["gif"], *size)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(TYPES["webp"], *_webp_size(head))
    return None


def _webp_size(head: bytes) -> tuple[int | None, int | None]:
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a" and len(head) >= 30:
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and head[20:21] == b"\x2f" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    return None, None


# Start-of-frame markers carry the size; the others between them are skipped by their length.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def _jpeg_size(fh: BinaryIO) -> tuple[int | None, int | None]:
    """Walk the segments to the frame header; a camera's EXIF block comes first, so seek past it."""
    fh.seek(2)
    for _ in range(256):
        byte = fh.read(1)
        while byte == b"\xff":  # fill bytes before a marker
            byte = fh.read(1)
        if not byte:
            return None, None
        marker = byte[0]
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image, or the scan data: no frame header before it
            return None, None
        raw = fh.read(2)
        if len(raw) < 2:
            return None, None
        length = struct.unpack(">H", raw)[0]
        if marker in _SOF:
            frame = fh.read(5)
            if len(frame) < 5:
                return None, None
            height, width = struct.unpack(">HH", frame[1:5])
            return width or None, height or None
        fh.seek(length - 2, 1)
    return None, None


def _office(path: Path) -> str:
    """A zip is let in only as a Word, Excel or PowerPoint file, and not one carrying macros."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()  # the central directory only: nothing is extracted
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refused("zip") from None
    if "[Content_Types].xml" not in names:
        raise _refused("zip")
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise _refused("office_macros")
    for prefix, label in _OOXML_PARTS:
        if any(name.startswith(prefix) for name in names):
            return label
    raise _refused("zip")


def _check_text(path: Path) -> None:
    """Strict UTF-8 all the way through, no control characters, and not markup or a script."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    start = ""
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(64 * 1024):
                text = decoder.decode(chunk)
                if _CONTROL.search(text):
                    raise _refused("binary")
                if len(start) < HEAD:
                    start += text[: HEAD - len(start)]
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _refused("binary") from None
    opening = start.lstrip()
    if opening.startswith("<") or _MARKUP.search(start):
        raise _refused("markup")
    if opening.startswith("#!"):
        raise _refused("script")


_RESERVED = re.compile(r'[<>:"|?*]')


def display_name(original: str | None, filetype: FileType) -> str:
    """The client's filename made safe to show and to download under: no folders, no control or
    direction-changing characters (which can make "gpj.exe" read as "exe.jpg"), a bounded length,
    and an extension that says what the bytes are (a PNG named ``.txt`` downloads as ``.png``)."""
    name = (original or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(_RESERVED.sub("_", name).split()).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if ext.lower() not in filetype.extensions:
        ext = filetype.extensions[0]
    stem = stem.strip(" .")[:MAX_STEM].strip(" .") or filetype.kind
    return f"{stem}.{ext.lower()}"
