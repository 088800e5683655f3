"""The one font every document is set in, shipped inside the package.

reportlab's built-in CJK fonts (``STSong-Light``) are not embedded: a PDF using them shows boxes or
nothing on a reader without Adobe's CJK pack, or on a machine without Chinese fonts. So the PDFs
embed the glyphs they use from a TrueType-outline font that travels with Shangliao (fonts/README.md
says which, and its licence), and no reader needs a font of its own.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "WenQuanYiMicroHei"
FILE = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"
_FACE = 0  # the collection's first face, Micro Hei (the second is its monospaced sibling)
_registered = threading.Lock()


def font() -> str:
    """The font's name for reportlab, registered on first use (parsing the file takes a fifth of a
    second, once per process)."""
    with _registered:
        if FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(FONT, str(FILE), subfontIndex=_FACE))
    return FONT
