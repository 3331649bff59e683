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

A py-spy profile of the site process (`--profile 1`, chat_completions, K=50, 10 tokens per
reply, 5 repetitions) put the site's own work at about 8 ms of the database thread per turn
(`turn_create` 5.3 ms of it, the end of the reply 1.7 ms), 1.6 ms for the title request,
and a trip to that one thread for every write of a turn, each queued behind all the others.
Per turn (chat_completions, a new conversation) the site did 17 statements in 8 trips to
that thread, and 2 more trips for the frame's rate limit; it now does 12 statements in 3
trips (the turn, the end, the title):

1. **The reply saved streaming with its channel in the turn's transaction.** The runner
   wrote the reply's status and channel in a trip of its own when it started; the socket
   now makes the channel first (`turn_save`), and gives it up when the turn is refused.
2. **The end of a reply in one trip**: the reply's end, its usage, the conversation's time
   and its sidebar fields (for the title) were four trips; they are one.
3. **No toolbox query without MCP tools**: whether the assistant offers any is annotated on
   the query that starts the turn.
4. **The turn's two messages in one INSERT, no savepoint** around the reply (a refusal
   leaves the transaction anyway).
5. **The quota query joined, not a subquery**: the user's budgets were read with the groups
   as a subquery, 1.0 ms of CPU to build and run each turn; joined, 0.49 ms.
6. **The frame rate limit off the database thread**: Django's async cache runs its sync
   methods in the thread where the database's calls queue, twice per frame (add, incr); the
   in-process cache is now counted on the event loop, Redis in one trip to another thread.

Measured side by side at K=50 and 10 tokens per reply (7 repetitions, interleaved): the
site's CPU per 1,000 tokens went from 2.68 to 2.44 s (0.90x, spread 0.81-1.10x); the
before -> after table below measures them at the table's `--before-k`.
"""

LIMITS = """\
### What limits each figure

- **CPU per token** is per-turn work spread over the reply's tokens, plus what a saturated
  process does with its backlog. Per turn the site saves the conversation and both
  messages first, checks access and quota, saves progress, ends the reply and asks the
  provider for a title, all of which the baseline skips: at 10 tokens per reply the site
  spends 20-26 ms of CPU on a whole turn against the baseline's 8-9 ms, most of the
  difference in the database thread (profiled above). Per token the two cost about
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
