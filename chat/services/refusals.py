"""Refusals: what the site declines to do, with a code and a sentence the user can act on.

The services raise them (turns, uploads, file types, titles); the consumer sends one as an
`error` frame, the views as JSON with its HTTP status, the admin as a form error, each in
one place.
"""


class Refused(Exception):
    """`code` and the message (`str()`) go to the user as they are; `status` is the HTTP
    answer where a view sends it."""

    # Further fields of the refusal for the client, e.g. `resets_at` of `over_quota`.
    details: dict = {}

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status
