"""`python -m bench` (make bench): the site's streaming path against a bare relay, side by
side, and its pages.

One run, loopback only, bounded in count and time:
1. Fresh SQLite databases in var/bench/<timestamp>/; users signed in by sessions written
   straight into the database.
2. The stream source: the emitter (bench/emitter.py) in a process of its own, speaking the
   three protocols from pre-encoded events, every token stamped at emission. The site in a
   Daphne process with the baseline relay mounted (BENCH_BASELINE_ENABLED); with Redis on the
   machine, two more on the Redis channel layer; with --before, one on an older checkout.
3. RSS of the site with 0 and N idle signed-in sockets.
4. For each protocol and K: the baseline and the site, `--repeats` times, interleaved.
5. The saturation point of each path (bisection), then the channel layer's rows.
6. The chat page in-process with 10 / 1,000 / 10,000 conversations and transcripts of
   100 / 1,000 / 10,000 messages, and the same in headless Chromium.
7. Prints the tables and writes them into docs/performance.md.
"""

import argparse
import asyncio
import datetime
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from .streaming import PROTOCOLS

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_MODEL = "local-echo-1"
API_KEY = "local-dev-key"
EMITTER_CONNECTION = "bench-emitter"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--ks", default="1,10,50,200,500,1000", help="client counts, comma-separated"
    )
    parser.add_argument(
        "--protocols",
        default=",".join(PROTOCOLS),
        help="protocols to stream, comma-separated (assistants, responses, chat_completions)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of every row")
    parser.add_argument("--tokens", type=int, default=100, help="tokens per reply")
    parser.add_argument("--token-delay", type=float, default=0.02, help="seconds per token")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds over which K start")
    parser.add_argument(
        "--layer-k", type=int, default=200, help="K of the in-memory vs Redis layer rows"
    )
    parser.add_argument(
        "--two-k", type=int, default=1000, help="K of the one vs two site processes rows"
    )
    parser.add_argument("--no-layers", action="store_true", help="leave out the Redis rows")
    parser.add_argument(
        "--before",
        default="",
        metavar="REV",
        help="also run the site at git revision REV, against the current code (before -> after)",
    )
    parser.add_argument("--before-k", type=int, default=200, help="K of the before/after rows")
    parser.add_argument("--idle", type=int, default=1000, help="idle sockets for memory")
    parser.add_argument("--pages", default="10,1000,10000", help="sidebar sizes")
    parser.add_argument(
        "--transcripts", default="100,1000,10000", help="transcript lengths, comma-separated"
    )
    parser.add_argument(
        "--search-steps", type=int, default=5, help="bisection steps for the saturation point"
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--quota-only", action="store_true", help="only the quota check's cost (bench/quota.py)"
    )
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="only the chat and conversation pages (in-process, about a minute); printed only",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        help="py-spy (raw collapsed stacks) the site's process through the whole table",
    )
    parser.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the app server (e.g. CHAT_BROADCAST_INTERVAL=0.05)",
    )
    return parser.parse_args(argv)


def raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(argv=None) -> int:
    args = parse_args(argv)
    ks = [int(k) for k in args.ks.split(",") if k]
    sizes = [int(s) for s in args.pages.split(",") if s]
    raise_open_files_limit()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    work = ROOT / "var" / "bench" / stamp
    work.mkdir(parents=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "assistants_site.settings",
        "DJANGO_DEBUG": "false",
        "VAR_DIR": str(work),
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "LOCAL_PROVIDER_DATABASE_URL": f"sqlite:///{work / 'localai.sqlite3'}",
        "LOCAL_PROVIDER_ENABLED": "true",
        "LOCAL_PROVIDER_API_KEY": API_KEY,
        "LOCAL_PROVIDER_TOKEN_DELAY": str(args.token_delay),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from . import data
    from .machine import CpuWatch, describe, load_average, others_busy
    from .report import Report, render, write
    from .servers import EmitterServer, RedisServer, Server, redis_available
    from .streaming import Paths, StreamingBench, protocol_frames

    started = time.monotonic()
    watch = CpuWatch()
    load_before = load_average()
    print(f"bench: working in {work}", flush=True)
    call_command("migrate", database="default", verbosity=0)
    call_command("migrate", database="localai", verbosity=0)
    if args.quota_only:
        return quota_only(env, work)
    if args.pages_only:
        return pages_only(args, sizes, env, work)
    args.ks, args.protocols = ks, [p for p in args.protocols.split(",") if p]
    users = max([*ks, args.idle, args.two_k])
    print(f"bench: {users} users with sessions", flush=True)
    cookies = data.signed_in_users(users, "bench")
    emitter = EmitterServer(work, tokens=args.tokens, delay=args.token_delay).start()
    data.emitter_connection(name=EMITTER_CONNECTION, base_url=emitter.base_url)
    frames = protocol_frames(connection_name=EMITTER_CONNECTION, remote_assistant_id="asst_bench")
    app_env = {**env, "BENCH_BASELINE_ENABLED": "true", "LOCAL_PROVIDER_ENABLED": "false"}
    for item in args.app_env:
        name, _, value = item.partition("=")
        app_env[name] = value
    servers = [emitter]
    report = Report(context={})
    try:
        paths = Paths(app=[Server("app", app_env, work).start()])
        servers += paths.app
        if not args.no_layers and redis_available():
            redis = RedisServer(work).start()
            servers.append(redis)
            redis_env = {**app_env, "REDIS_URL": redis.url}
            paths.redis = [Server(f"app-redis{n}", redis_env, work).start() for n in (1, 2)]
            servers += paths.redis
        if args.before:
            checkout = before_checkout(args.before, work)
            paths.before = [Server("app-before", app_env, work, root=checkout).start()]
            servers += paths.before
        bench = StreamingBench(
            args, cookies=cookies, emitter=emitter, paths=paths, frames=frames, work=work
        )
        profiler = start_profiler(paths.app[0], work, "table") if args.profile else None
        asyncio.run(streaming(args, bench, report, paths.app[0], profiler))
        verify_saved_replies(report.all_phases())
        report.memory = {
            "app_peak_kb": paths.app[0].peak_rss_kb(),
            "provider_peak_kb": emitter.peak_rss_kb(),
        }
        report.emitter = emitter_stats(emitter)
    finally:
        for server in reversed(servers):
            server.stop()
    if sizes:
        page_tables(report, args, sizes, data.bench_assistant(model=PROVIDER_MODEL), env, work)
    elapsed = time.monotonic() - started
    watch.stop()
    report.context = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "duration_s": elapsed,
        "machine": describe(),
        "token_delay": args.token_delay,
        "tokens": args.tokens,
        "ramp_s": args.ramp,
        "repeats": args.repeats,
        "before": args.before,
        "broadcast_interval": app_env.get(
            "CHAT_BROADCAST_INTERVAL", settings.CHAT_BROADCAST_INTERVAL
        ),
        "save_interval": app_env.get("CHAT_REPLY_SAVE_INTERVAL", settings.CHAT_REPLY_SAVE_INTERVAL),
        "load_before": load_before,
        "load_after": load_average(),
        "others": "; ".join(
            others_busy(watch, ours={os.getpid(), *(s.pid for s in servers)}, elapsed=elapsed)
        ),
    }
    print()
    print(render(report))
    if not args.no_write:
        write(report, Path(args.out))
        print(f"bench: written to {args.out}")
    return 0


async def streaming(args, bench, report, app, profiler) -> None:
    await bench.warm_up()
    if args.idle:
        report.idle = await idle_memory(args, bench, app)
    report.phases = await bench.table()
    if profiler is not None:
        stop_profiler(profiler)
    report.saturation = await bench.saturation(report.phases)
    report.layers = await bench.layers()
    report.before_after = await bench.before_after()


async def idle_memory(args, bench, app) -> dict:
    from .load import close_sockets, open_sockets

    await asyncio.sleep(1.0)
    rss0 = app.rss_kb()
    print(f"bench: {args.idle} idle signed-in sockets", flush=True)
    target = bench._targets("app", [app])[0]
    sockets = await open_sockets(target, bench.cookies[: args.idle])
    await asyncio.sleep(2.0)
    rss1 = app.rss_kb()
    await close_sockets(sockets)
    await asyncio.sleep(1.0)
    return {
        "sockets": args.idle,
        "rss0_kb": rss0,
        "rss1_kb": rss1,
        "per_connection_kb": (rss1 - rss0) / args.idle,
    }


def before_checkout(revision: str, work: Path) -> Path:
    """A worktree of `revision`, for the site as it was before a change."""
    checkout = work / "before"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(checkout), revision],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return checkout


def emitter_stats(emitter) -> dict:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{emitter.base_url}/stats", timeout=5) as answer:
        return json.loads(answer.read())


def quota_table(provider_url: str) -> None:
    """What the quota check costs a turn, as ratios (bench/quota.py); printed only."""
    from .quota import quota_benchmark, render_quota

    print("bench: quota check on vs off", flush=True)
    print(render_quota(quota_benchmark(provider_url=provider_url)), flush=True)


def quota_only(env: dict, work: Path) -> int:
    """`--quota-only`: the quota table alone, with a provider process of its own."""
    from .servers import Server

    provider = Server("provider", env, work).start()
    try:
        quota_table(f"http://127.0.0.1:{provider.port}/local/v1")
    finally:
        provider.stop()
    return 0


def page_tables(report, args, sizes: list[int], assistant, env: dict, work: Path) -> None:
    """The pages in-process (bench/pages.py), then in Chromium (bench/browser_pages.py)."""
    from django.contrib.auth import get_user_model

    from . import browser_pages, data
    from .pages import page_benchmark

    print("bench: chat page", flush=True)
    report.pages = page_benchmark(
        sizes=sizes,
        transcript_sizes=[int(n) for n in args.transcripts.split(",") if n],
        assistant=assistant,
    )
    if not browser_pages.available():
        print("bench: no Chromium or playwright; the browser table is left out", flush=True)
        return
    print("bench: the pages in Chromium", flush=True)
    owner = get_user_model().objects.get(username=f"pages{sizes[-1]}")
    report.browser_pages = browser_pages.measure_pages(
        browser_pages.targets_for(report.pages),
        cookie=data.session_cookie(owner),
        env=env,
        work=work,
    )


def pages_only(args, sizes: list[int], env: dict, work: Path) -> int:
    """`--pages-only`: the page tables, their targets and the headline, without streaming."""

    from . import data
    from .report import Report, browser_pages_table, headline, pages_table, targets_table

    report = Report(context={})
    page_tables(report, args, sizes, data.bench_assistant(model=PROVIDER_MODEL), env, work)
    print(pages_table(report))
    print(browser_pages_table(report))
    print(targets_table(report))
    print("Headline")
    print(headline(report), flush=True)
    return 0


def start_profiler(server, work: Path, phase: str) -> subprocess.Popen:
    output = work / f"{server.name}-during-{phase}.pyspy.txt"
    print(f"bench: py-spy recording {server.name} into {output}", flush=True)
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(server.pid),
            "--format",
            "raw",
            "--nonblocking",
            "--rate",
            "100",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(profiler: subprocess.Popen) -> None:
    profiler.send_signal(2)  # SIGINT: py-spy writes its output and exits
    profiler.wait(timeout=30)


def verify_saved_replies(phases) -> None:
    """What the site saved must equal the emitter's text too (not only what was streamed)."""
    from chat.models import Message
    from localai.engine.model import strip_stamps

    for phase in phases:
        if phase.kind != "app":
            continue
        saved = Message.objects.filter(pk__in=phase.saved_ids).values_list(
            "pk", "status", "content"
        )
        for pk, status, content in saved:
            if status != "complete" or strip_stamps(content) != phase.expected_by_id[pk]:
                phase.bad_transcripts += 1


if __name__ == "__main__":
    sys.exit(main())
