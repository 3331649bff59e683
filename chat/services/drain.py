"""A process that is asked to stop (SIGTERM: a rolling deploy) drains instead of dropping
what it is doing.

1. It takes no new turn: a socket asking for one is closed with 1012 (Service Restart) and
   the page reconnects, to another process behind the load balancer, where the snapshot
   gives the user back any message that was not saved.
2. The replies it is writing go on for up to CHAT_DRAIN_GRACE seconds; the sockets watching
   them, here or in other processes, see them finish.
3. Those still running then end as `incomplete` with all the text that arrived (the reason
   says the server restarted), announced like any other end.
4. Every socket is closed with 1012, and the process exits.

A second SIGTERM stops at once. Under Daphne the handler is installed by `drain_on_sigterm`
(called from assistants_site/asgi.py); other servers keep their own shutdown.
"""

import asyncio
import logging
import signal
import sys
import weakref

from django.conf import settings

from .running_replies import running_turns

logger = logging.getLogger(__name__)

DRAIN_REASON = "The server restarted while this reply was being written; what arrived is kept."
SERVICE_RESTART = 1012  # WebSocket close code: reconnect (elsewhere)
# After the replies are closed: how long their ends may take to be saved and announced, and
# how long the sockets get to answer the close handshake.
FINISH_TIMEOUT = 10.0
CLOSE_TIMEOUT = 2.0

_sockets: "weakref.WeakSet" = weakref.WeakSet()
_draining = False
_all_closed: asyncio.Event | None = None  # set by the last socket to go, while draining


def is_draining() -> bool:
    return _draining


def socket_opened(consumer) -> None:
    _sockets.add(consumer)


def socket_closed(consumer) -> None:
    _sockets.discard(consumer)
    if not _sockets and _all_closed is not None:
        _all_closed.set()


async def adrain(*, grace: float | None = None) -> None:
    """Drains this process (steps 1 to 4 above, but the exit)."""
    global _draining, _all_closed
    _draining = True
    _all_closed = asyncio.Event()
    grace = settings.CHAT_DRAIN_GRACE if grace is None else grace
    turns = running_turns()
    logger.warning("Draining: %d replies in flight, %d s to finish", len(turns), grace)
    if turns:
        await asyncio.wait([task for task, _ in turns.values()], timeout=grace)
    left = {pk: (task, runner) for pk, (task, runner) in turns.items() if not task.done()}
    for task, runner in left.values():
        if runner is not None:
            runner.interrupt(DRAIN_REASON)
        if runner is None or runner.stream_task is None:
            task.cancel()  # not streaming yet
    if left:
        logger.warning("Draining: closing %d replies as incomplete", len(left))
        await asyncio.wait([task for task, _ in left.values()], timeout=FINISH_TIMEOUT)
    sockets = list(_sockets)
    for consumer in sockets:
        try:
            await consumer.close(code=SERVICE_RESTART)
        except Exception:
            logger.exception("Could not close a socket while draining")
    if _sockets:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await _all_closed.wait()
        except TimeoutError:
            logger.warning("Draining: %d sockets did not answer the close", len(_sockets))
    logger.warning("Drained: %d sockets closed with %d", len(sockets), SERVICE_RESTART)


def drain_on_sigterm() -> None:
    """Under Daphne (Twisted's reactor already installed), SIGTERM drains, then stops."""
    if "twisted.internet.reactor" not in sys.modules:
        return
    from twisted.internet import reactor

    def begin() -> None:
        if _draining:
            reactor.stop()  # the second SIGTERM: now
            return
        task = asyncio.ensure_future(adrain())
        task.add_done_callback(stop)

    def stop(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("Draining failed", exc_info=task.exception())
        reactor.stop()

    def on_sigterm(signum, frame) -> None:
        reactor.callFromThread(begin)

    # After Twisted's own handlers are in place (they are set when the reactor starts).
    reactor.callWhenRunning(signal.signal, signal.SIGTERM, on_sigterm)
    _allow_service_restart_close()


def _allow_service_restart_close() -> None:
    """Lets Daphne close a socket with 1012. Autobahn's `sendClose` takes only the codes a
    browser may send (1000, 3000-4999); a server may send 1012 (RFC 6455's registry)."""
    from daphne.ws_protocol import WebSocketProtocol

    server_close = WebSocketProtocol.serverClose

    def serverClose(self, code=None):
        if code == SERVICE_RESTART:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            server_close(self, code)

    WebSocketProtocol.serverClose = serverClose
