from django.conf import settings
from django.urls import path

from .consumers import ChatConsumer

websocket_urlpatterns = [path("ws/chat/", ChatConsumer.as_asgi())]

if settings.BENCH_BASELINE_ENABLED:
    # The benchmark's bare relay (chat/bench_relay.py); off by default and in production.
    from .bench_relay import BaselineRelayConsumer

    websocket_urlpatterns.append(path("ws/bench/relay/", BaselineRelayConsumer.as_asgi()))
