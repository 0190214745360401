"""PDF writers for credentials and the accreditation list (reportlab, measured against fpdf2).

Fonts: Bitstream Vera Sans, the TrueType font reportlab ships (reportlab/fonts, with its licence),
embedded and subset in every file, so ñ and accents print the same on any machine. QR codes come
from reportlab's own encoder with a fixed mask pattern (any of the eight is valid; scoring all
eight costs six times as much) and are drawn as one vector fill, a rectangle per run of modules,
written as PDF operators in module units (reportlab's per-number formatting was a third of the time).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import reportlab
import reportlab.rl_config
from django.utils.translation import gettext as _
from reportlab.graphics.barcode.qrencoder import (
    EXP_TABLE,
    LOG_TABLE,
    QRCode,
    QRErrorCorrectLevel,
    QRPolynomial,
    QRUtil,
)
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .selectors import AccreditationRow, CredentialView, Signatory

# Binary streams: ASCII85 makes files a quarter larger and, in pure Python, costs a tenth of the time.
reportlab.rl_config.useA85 = 0
# The Reed-Solomon generator depends only on the block's length: computed once per length, not per code.
QRUtil.getErrorCorrectPolynomial = staticmethod(functools.cache(QRUtil.getErrorCorrectPolynomial))


def _polynomial_mod(self: QRPolynomial, divisor: QRPolynomial) -> QRPolynomial:
    """Reed-Solomon remainder by long division in one pass over log/antilog tables; reportlab's
    recursive version copies the polynomial at every step and was half the cost of a QR code."""
    num = list(self.num)
    generator = divisor.num
    length = len(generator)
    if len(num) < length:
        return self
    generator_logs = [LOG_TABLE[g] for g in generator]
    for i in range(len(num) - length + 1):
        coefficient = num[i]
        if coefficient:
            ratio = LOG_TABLE[coefficient] - generator_logs[0]
            for j in range(1, length):
                num[i + j] ^= EXP_TABLE[(generator_logs[j] + ratio) % 255]
    return QRPolynomial(num[len(num) - length + 1 :], 0)


REPORTLAB_POLYNOMIAL_MOD = QRPolynomial.mod  # kept for the test that checks both agree
QRPolynomial.mod = _polynomial_mod

FONT_DIR = Path(reportlab.__file__).resolve().parent / "fonts"
FONT = "FiscalizaSans"
FONT_BOLD = "FiscalizaSans-Bold"
pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "Vera.ttf")))
pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "VeraBd.ttf")))

A4_WIDTH, A4_HEIGHT = A4
# A phone-sized page: about 10 x 19 cm, what a phone shows without zooming and a pocket holds.
PHONE = (290.0, 540.0)
LAYOUTS = ("a4", "phone")
RED = Color(0.78, 0.1, 0.1)
GREY = Color(0.4, 0.4, 0.4)


class _FixedMaskQR(QRCode):
    def getBestMaskPattern(self):
        return 0


def qr_modules(text: str) -> list[list[bool]]:
    """The QR code's dark modules, row by row (error correction M: a crumpled paper still scans)."""
    qr = _FixedMaskQR(None, QRErrorCorrectLevel.M)
    qr.addData(text)
    qr.make()
    return [list(row) for row in qr.modules]


def _draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR with its top-left corner at (x, y + size), `size` wide, quiet zone included."""
    modules = qr_modules(text)
    count = len(modules) + 8  # four modules of quiet zone on each side
    unit = size / count
    runs = []
    for r, row in enumerate(modules):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.append(f"{start} {r} {c - start} 1 re")
            else:
                c += 1
    canvas.saveState()
    canvas.setFillColor(black)
    # Module units, y downwards from the code's top-left corner inside the quiet zone.
    canvas.transform(unit, 0, 0, -unit, x + 4 * unit, y + size - 4 * unit)
    canvas.addLiteral(" ".join(runs) + " f")
    canvas.restoreState()


def _lines(text: str, font: str, size: float, width: float) -> list[str]:
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return [text]
    return simpleSplit(text, font, size, width) or [""]


def _draw_credential(
    canvas: Canvas,
    view: CredentialView,
    signatory: Signatory,
    signature: ImageReader | None,
    *,
    left: float,
    bottom: float,
    width: float,
    height: float,
) -> None:
    """One credential in the box (left, bottom, width, height). Narrow boxes put the QR below the text."""
    margin = 22.0
    narrow = width < 400
    qr_size = 96.0 if not narrow else 110.0
    x = left + margin
    top = bottom + height - margin
    text_width = width - 2 * margin - (0 if narrow else qr_size + 10)
    y = top

    def line(text: str, font: str = FONT, size: float = 9.5, color=black, gap: float = 1.35) -> None:
        nonlocal y
        canvas.setFont(font, size)
        canvas.setFillColor(color)
        for part in _lines(text, font, size, text_width):
            y -= size * gap
            canvas.drawString(x, y, part)

    if not narrow:
        _draw_qr(canvas, view.verify_url, left + width - margin - qr_size, top - qr_size, qr_size)
        canvas.setFont(FONT, 6.5)
        canvas.setFillColor(GREY)
        canvas.drawCentredString(left + width - margin - qr_size / 2, top - qr_size - 6, view.verify_url)
    if view.party:
        line(view.party, FONT_BOLD, 13)
    line(view.title.upper(), FONT_BOLD, 12)
    line(f"{view.election} — {view.election_date}", FONT, 9.5)
    if view.areas:
        line(view.areas, FONT, 8.5, GREY)
    y -= 4
    line(view.place_name, FONT_BOLD, 11)
    if view.place_address:
        line(view.place_address, FONT, 9)
    if view.table_number is not None:
        line(_("Mesa %(number)s") % {"number": view.table_number}, FONT_BOLD, 18, gap=1.25)
    y -= 2
    line(view.full_name, FONT_BOLD, 12.5)
    line(_("DNI %(dni)s") % {"dni": view.dni}, FONT, 11)
    y -= 3
    wording_size = 8.6 if not narrow else 8.0
    text_width = width - 2 * margin
    line(view.wording, FONT, wording_size, gap=1.3)
    if narrow:
        y -= qr_size + 4
        _draw_qr(canvas, view.verify_url, left + (width - qr_size) / 2, y, qr_size)
        canvas.setFont(FONT, 6.5)
        canvas.setFillColor(GREY)
        canvas.drawCentredString(left + width / 2, y - 5, view.verify_url)
        y -= 8

    if not view.valid:
        y -= 4
        line(view.revoked_note, FONT_BOLD, 10, RED)

    # The signatory's block at the bottom right; the watcher's signature, the issue date and code at the left.
    sign_width = 170.0
    sign_x = left + width - margin - sign_width
    sign_line_y = bottom + margin + 22
    if signature is not None:
        canvas.drawImage(
            signature,
            sign_x + 10,
            sign_line_y + 2,
            sign_width - 20,
            min(48.0, max(16.0, y - sign_line_y - 6)),
            preserveAspectRatio=True,
            anchor="s",
            mask="auto",
        )
    canvas.setStrokeColor(black)
    canvas.setLineWidth(0.6)
    canvas.line(sign_x, sign_line_y, sign_x + sign_width, sign_line_y)
    canvas.setFillColor(black)
    canvas.setFont(FONT, 8)
    canvas.drawCentredString(sign_x + sign_width / 2, sign_line_y - 10, signatory.name or _("Apoderado/a"))
    if signatory.dni:
        canvas.drawCentredString(
            sign_x + sign_width / 2,
            sign_line_y - 19,
            _("Apoderado/a — DNI %(dni)s") % {"dni": signatory.dni},
        )
    footer_x = left + margin
    if not narrow:
        canvas.line(footer_x, sign_line_y, footer_x + sign_width, sign_line_y)
        canvas.setFont(FONT, 8)
        canvas.drawCentredString(footer_x + sign_width / 2, sign_line_y - 10, _("Firma del fiscal"))
    canvas.setFont(FONT, 7)
    canvas.setFillColor(GREY)
    lowest = bottom + margin - 12 if not narrow else bottom + margin - 3
    canvas.drawString(footer_x, lowest + 9, _("Emitida el %(date)s") % {"date": view.issued})
    canvas.drawString(footer_x, lowest, _("Código %(token)s") % {"token": view.token})

    if not view.valid:
        canvas.saveState()
        canvas.translate(left + width / 2, bottom + height / 2)
        canvas.rotate(28)
        canvas.setFillColor(Color(0.78, 0.1, 0.1, alpha=0.35))
        canvas.setFont(FONT_BOLD, 64 if not narrow else 44)
        canvas.drawCentredString(0, 0, _("REVOCADA"))
        canvas.restoreState()


def _new_canvas(buffer: io.BytesIO, pagesize, title: str) -> Canvas:
    canvas = Canvas(buffer, pagesize=pagesize, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("Fiscaliza")
    return canvas


def credentials_pdf(views: Sequence[CredentialView], signatory: Signatory, *, layout: str = "a4") -> tuple[bytes, int]:
    """The credentials as a PDF: two per A4 page (with a cut line), or one per phone-sized page.

    Returns (bytes, page count). The signature image is embedded once and reused on every page.
    """
    buffer = io.BytesIO()
    pagesize = PHONE if layout == "phone" else A4
    canvas = _new_canvas(buffer, pagesize, _("Credenciales de fiscales"))
    signature = ImageReader(io.BytesIO(signatory.signature_png)) if signatory.signature_png else None
    pages = 0
    if layout == "phone":
        for view in views:
            _draw_credential(canvas, view, signatory, signature, left=0, bottom=0, width=PHONE[0], height=PHONE[1])
            canvas.showPage()
            pages += 1
    else:
        half = A4_HEIGHT / 2
        for i, view in enumerate(views):
            upper = i % 2 == 0
            _draw_credential(
                canvas, view, signatory, signature, left=0, bottom=half if upper else 0, width=A4_WIDTH, height=half
            )
            if upper:
                canvas.saveState()
                canvas.setDash(4, 4)
                canvas.setStrokeColor(GREY)
                canvas.setLineWidth(0.4)
                canvas.line(12, half, A4_WIDTH - 12, half)
                canvas.restoreState()
            if not upper or i == len(views) - 1:
                canvas.showPage()
                pages += 1
    if pages == 0:
        canvas.setFont(FONT, 12)
        canvas.drawString(40, pagesize[1] - 60, _("No hay credenciales para imprimir."))
        canvas.showPage()
        pages = 1
    canvas.save()
    return buffer.getvalue(), pages


def accreditation_pdf(rows: Iterable[AccreditationRow], *, title: str, subtitle: str) -> bytes:
    """The accreditation list as a printable table (A4 landscape), repeating its header on every page."""
    buffer = io.BytesIO()
    size = landscape(A4)
    canvas = _new_canvas(buffer, size, title)
    columns = [
        (_("Apellido y nombre"), 190.0),
        (_("DNI"), 62.0),
        (_("Establecimiento"), 250.0),
        (_("Mesa"), 40.0),
        (_("Rol"), 80.0),
        (_("Estado"), 70.0),
        (_("Credencial"), 60.0),
    ]
    margin, row_height, font_size = 28.0, 13.0, 7.8
    page = 0

    def header() -> float:
        nonlocal page
        page += 1
        top = size[1] - margin
        canvas.setFont(FONT_BOLD, 12)
        canvas.drawString(margin, top - 12, title)
        canvas.setFont(FONT, 8.5)
        canvas.drawString(margin, top - 25, subtitle)
        canvas.drawRightString(size[0] - margin, top - 12, _("Hoja %(page)s") % {"page": page})
        y = top - 44
        canvas.setFont(FONT_BOLD, font_size)
        x = margin
        for name, width in columns:
            canvas.drawString(x, y, name)
            x += width
        canvas.line(margin, y - 3, size[0] - margin, y - 3)
        canvas.setFont(FONT, font_size)
        return y - row_height

    y = header()
    for row in rows:
        if y < margin:
            canvas.showPage()
            y = header()
        cells = [
            f"{row.last_name}, {row.first_name}",
            row.dni,
            f"{row.place_code} · {row.place_name}",
            "" if row.table is None else str(row.table),
            row.role,
            row.status,
            row.credential,
        ]
        x = margin
        for (_name, width), value in zip(columns, cells, strict=True):
            text = value
            while text and pdfmetrics.stringWidth(text, FONT, font_size) > width - 4:
                text = text[:-1]
            canvas.drawString(x, y, text)
            x += width
        y -= row_height
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
