"""The API's parsers: a JSON body nested deeper than the parser can follow is a parse error (400). A
large upload goes to disk through `backend.core.uploads.DiskUploadHandler`, the console's handler too."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser


class JSONParser(DRFJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:  # "[[[[...": a few kilobytes deeper than json's recursion limit
            raise ParseError("JSON parse error - nested too deeply") from exc
