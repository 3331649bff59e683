"""The prose of the report that `make bench` writes: how it measures, the profile-led
changes its before/after rows compare, and what limits each figure (bench/report.py)."""

METHOD = """\
### How it measures

- **The source is not the local provider.** `bench/emitter.py` runs in a process of its
  own and speaks what the site asks of a provider in a turn, for each protocol: Assistants
  (thread, message, streamed run), Responses (conversation, streamed response; unstreamed
  for the title) and Chat Completions (streamed; unstreamed for the title), with the real
  APIs' event sequences (tests/bench/test_emitter.py reads them with the openai SDK). It is
  an `asyncio.Protocol` on raw transports with every event pre-encoded: a token costs one
  bytes join and one write. One pacer serves every stream from a FIFO (each stream's next
  token is due one interval after its last, so the FIFO stays in due order), and each token
  carries `⟨t=<unix time>⟩`, stamped as it is written. Its CPU share is in every row.
- **The baseline** is `chat/bench_relay.py` in the site's own process: the same provider
  calls of a turn through the same SDK client (`client_for` the same connection), each text
  delta sent to the socket as it arrives; no database, authentication, channel layer or
  coalescing. The site's path is the whole product: the chat consumer, `turn_create` (the
  conversation, both messages, the access and quota checks), the turn runner, the channel
  layer, coalescing, the progress saves, the end of the reply and its title.
- **Clients**: one asyncio process, K WebSocket clients, each its own signed-in user (session
  rows written into the site's SQLite file), each sending one message in a new conversation;
  starts spread over the ramp. The hot loop only timestamps raw frames; parsing waits until
  the phase is over. Added latency is receipt - emission stamp for every token, inside
  merged frames too.
- **Repetitions**: each K runs `--repeats` times (3), the baseline and the site next to each
  other, the order alternating, so a drift of the machine's load favours neither. Figures
  are medians; a ratio is taken within each repetition and shown as median (min-max).
- **CPU per 1,000 delivered tokens**: utime + stime of the site's process(es) from /proc
  over the phase, divided by the tokens that reached the clients. It moves least with the
  machine's load, hence the headline figure.
- **Offered and delivered**: the schedule offers K x tokens over ramp x (K-1)/K + tokens x
  interval; *of offered* is delivered tokens/s over that (1.00: the path kept the schedule).
  The **saturation point** of a path is the largest K whose median repetition still delivers
  0.95 of it with no error: bracketed by the table's K, then bisected (one run per step).
- **Channel layer**: the site again on `REDIS_URL` (channels_redis pub/sub, a throw-away
  `redis-server`) against the in-memory layer at `--layer-k`, and one Redis process
  against two (the clients' sockets split across them; a reply runs in the process its
  socket reached) at `--two-k`.
- **Before -> after**: with `--before REV`, a fourth Daphne serves the site from a git
  worktree of REV, on the same database, interleaved with the current code at
  `--before-k`: the profile-led changes measured in the same run.
- **Losses**: every reply is rebuilt from its live frames (offsets applied as the browser
  does) and compared, with its `message.done` text and its saved row, to the emitter's
  text: a missing, repeated or reordered character counts.
"""

CHANGES = """\
### Profile-led changes (this round; the before -> after table measures them)

py-spy profiles of the site process (`--profile 1`) at K=200, then per turn at 10 tokens
per reply, showed the site's extra cost per turn at about 42 ms of CPU against the
baseline's 17 ms for a whole turn, most of it in the database thread:

1. **SQLite connections reopened at every database call.** Channels closes the connection
   around each `database_sync_to_async` call unless it may persist; reopening the file, its
   PRAGMAs and Django's SQL functions was 10% of the process's samples. SQLite connections
   now persist (`CONN_MAX_AGE` 600 unless `DATABASE_CONN_MAX_AGE` says otherwise).
2. **Queries a new conversation's turn does not need.** `turn_create` read the access rule
   in a query of three nested subqueries (now `select_related` with the assistant, no query
   when the assistant is open to everyone), locked the user's row on SQLite (which has no
   row locks), touched the conversation it had just written, and prefetched the files of
   two messages it had just created. The runner read the history of a conversation that had
   none, the files of a reply that made none, and the first exchange again for the title.
   In-process, `turn_create` went from 13.7 to 5.7 ms of CPU; per turn at 10 tokens the
   site's extra CPU went from about 42 to 22 ms.
3. **Coalescing in step with the stream.** With `CHAT_BROADCAST_INTERVAL` 0.02 and tokens
   20 ms apart, each delta arrived just before the timer allowed a frame and waited for it:
   p50 added latency 12.7 ms at K=10 against the baseline's 3.0. At 0.01 it is 3.6 ms, with
   no more CPU per token (deltas closer than 10 ms still go as one frame).
"""

LIMITS = """\
### What limits each figure

- **CPU per token** is per-turn work spread over the reply's tokens, plus what a saturated
  process does with its backlog. Per turn the site saves the conversation and both
  messages first, checks access and quota, saves progress, ends the reply and asks the
  provider for a title, all of which the baseline skips: about 22 ms of CPU at 10 tokens per
  reply (profiled), against a whole baseline turn's 14-17 ms. Per token the two cost about
  the same: at K=30 with 300 tokens per reply the ratio was 1.14x (0.800 against 0.701 s per
  1,000 tokens). At K=200 both paths are far past saturation (they deliver 0.2-0.55 of the
  offer), and the baseline, with nothing else to do, gets cheaper per token as its event
  loop handles more events per wake-up (0.26-0.40 s per 1,000 tokens, against about 0.7 at
  K=30), while the site's per-turn work and its database thread stay: the ratio there is
  the largest.
- **Latency at low K** (baseline p99 of a few ms): the site's database work runs in one
  thread that shares the GIL with the event loop; a turn starting beside a stream holds it
  for milliseconds at a time, which the baseline never does. p99 ratios there compare a
  few ms with a few ms and move most between repetitions.
- **Saturation**: on 2 cores the clients, the emitter and the site's process share the
  machine; from a few tens of streams at 50 tokens/s each both paths are paced by the cores,
  latency there is queueing, and the high-K rows compare how much of the two cores each
  path leaves. The site saturates first because of the per-turn work above.
- **Redis**: every delta is a PUBLISH (with the SETRANGE that keeps the text, in one
  pipeline) and comes back through the process's subscription, instead of a queue put.
- **Two processes** can use at most what the clients and the emitter leave of 2 cores:
  about 1.5 cores for the site, against one core for one process.
- **The machine is shared**: other sessions' test suites and browsers run beside it; the
  report says what else used CPU, and the repetitions show the spread.
"""
