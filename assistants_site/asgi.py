"""ASGI entry point: HTTP (site, admin, local provider) and the chat WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assistants_site.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from chat.services.drain import drain_on_sigterm  # noqa: E402

from .static_files import StaticFilesApp  # noqa: E402
from .websocket_server import install as install_websocket_bounds  # noqa: E402

install_websocket_bounds()

if settings.SERVE_STATIC:
    # Serves /static/ from the app folders with no collectstatic step; a deployment behind a
    # web server or CDN switches it off.
    django_asgi_app = StaticFilesApp(django_asgi_app)

# Under Daphne, SIGTERM (a deploy) lets the replies in flight finish first (see drain.py).
drain_on_sigterm()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
