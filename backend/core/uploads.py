"""Uploads that go to disk as they arrive, capped: one handler for every door that takes a large file
(the API's multipart parser and the console's forms), so a file is never whole in memory whatever its
size, and a file over the limit is refused the same way, with the same message, wherever it comes in."""

from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.utils.translation import gettext as _

from .exceptions import ApplicationError
from .spreadsheets import SpreadsheetError


class UploadTooBig(ApplicationError):
    """The request's body passed the upload's limit: nothing was stored (the API answers 413)."""

    def __init__(self, max_bytes: int):
        mb = max_bytes // 2**20
        super().__init__(
            _("El archivo pesa más de %(mb)s MB, el máximo permitido. No se guardó nada.") % {"mb": mb},
            code=SpreadsheetError.TOO_BIG,
        )


class DiskUploadHandler(TemporaryFileUploadHandler):
    """Every uploaded file written to a temporary file as it arrives (never whole in memory, whatever
    its size), refused with `UploadTooBig` from the request's declared length or, without one, as soon
    as the bytes received pass `max_bytes` (the form's other fields are a few hundred bytes: MARGIN).

    Set it on the request before anything reads the body: `request.upload_handlers = [...]` (Django
    refuses a change once the body is parsed; the console's CSRF check reads it, see its view)."""

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
