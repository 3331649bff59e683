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

A py-spy profile of the site process (`--profile 1`, chat_completions, K=200, 100 tokens per
reply, 2 repetitions) put the database thread at about 10 ms of CPU per turn and the title
request at about 3.6 ms, where the whole site spends about 15 ms per reply more than the
baseline. Timed apart (the turn's statements in a loop, SQLite), `turn_create` took 4.8 ms
of CPU of which its 6 statements ran for 0.56 ms: the rest was the ORM building and
compiling the same queries every turn (reading the assistant with its connection, access and
MCP tools: 1.5 ms, of which 0.05 ms was SQLite).

1. **Prepared statements** (`chat/prepared_statements.py`) for the statements of most
   turns: reading the assistant or the conversation, inserting the conversation, the two
   messages and the usage record, the quota query, and at the end the reply's update, its
   usage, the conversation's time, its sidebar fields and its title. The ORM still
   describes each query; it is compiled once per process and database (each parameter's
   place found by compiling with two example values), and its rows become model instances
   with Django's own converters and select_related populators. Timed apart: a turn's
   database work 4.8 -> 0.8 ms of CPU, the end of a reply 1.5 -> 0.5 ms.

Measured side by side at K=200 and 100 tokens per reply (3 repetitions, interleaved, before
4d2710c): CPU per 1,000 tokens 0.553 -> 0.482 s (assistants, 0.89x, spread 0.81-0.91x),
0.448 -> 0.448 s (chat_completions, 0.97x, 0.96-1.15x), 0.448 -> 0.399 s (responses, 0.88x,
0.75-1.02x); the before -> after table below measures it again at the table's
`--before-k`.
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
