"""The API's parsers: a JSON body nested deeper than the parser can follow is a parse error (400); a
large upload goes to disk as it arrives and is refused as soon as it passes its limit."""

from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser

from backend.core.spreadsheets import SpreadsheetError


class JSONParser(DRFJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:  # "[[[[...": a few kilobytes deeper than json's recursion limit
            raise ParseError("JSON parse error - nested too deeply") from exc


class UploadTooBig(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = str(SpreadsheetError.TOO_BIG)

    def __init__(self, max_bytes: int):
        mb = max_bytes // 2**20
        super().__init__(_("El archivo pesa más de %(mb)s MB, el máximo permitido. No se guardó nada.") % {"mb": mb})


class DiskUploadHandler(TemporaryFileUploadHandler):
    """Every uploaded file written to a temporary file as it arrives (never whole in memory, whatever
    its size), refused with 413 from the request's declared length or, without one, as soon as the
    bytes received pass `max_bytes` (the form's other fields are a few hundred bytes: MARGIN)."""

    MARGIN = 64 * 1024

    def __init__(self, request, *, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_bytes + self.MARGIN:
            raise UploadTooBig(self.max_bytes)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.file.close()  # a temporary file: closing deletes it
            raise UploadTooBig(self.max_bytes)
        return super().receive_data_chunk(raw_data, start)
