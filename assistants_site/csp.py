"""The Content-Security-Policy of every page: django-csp's middleware, plus the one source
that depends on the request, the WebSocket of the host the page came from.

CSP Level 3 lets 'self' match ws:/wss: of the same host, but browsers that predate it do
not; naming the socket's origin keeps the chat working there without opening connect-src
to any other host.
"""

from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase


class SiteCSPMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        scheme = "wss" if request.is_secure() else "ws"
        try:
            socket_origin = f"{scheme}://{request.get_host()}"
        except DisallowedHost:
            # The response is the 400 page for a Host outside ALLOWED_HOSTS: 'self' only.
            return parts
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), socket_origin]
        parts.update = update
        return parts
