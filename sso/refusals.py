"""Why a sign-in was refused, in a sentence the person at the browser can act on."""


class SignInRefused(Exception):
    """Shown as "Sign-in refused: <reason>" (templates/sso/refused.html) with `status`.

    Not a PermissionDenied: Django's authenticate() swallows those into a silent None, and
    the reason would be lost on the way to the page.
    """

    def __init__(self, reason: str, *, status: int = 403):
        super().__init__(reason)
        self.reason = reason
        self.status = status
