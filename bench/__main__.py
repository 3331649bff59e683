"""`python -m bench` (make bench): the streaming path against a bare relay, side by side.

One run, loopback only, bounded in count and time:
1. Fresh SQLite databases in var/bench/<timestamp>/; K users signed in by sessions written
   straight into the database.
2. The local provider in a Daphne process of its own (so its work does not count as the
   app's), streaming at LOCAL_PROVIDER_TOKEN_DELAY; the app in another Daphne process, with
   the baseline relay mounted (BENCH_BASELINE_ENABLED). Both reach the same provider.
3. RSS of the app with 0 and N idle signed-in sockets.
4. For each K: the baseline, then the app, each K clients sending one message.
5. The chat page in-process with 10 / 1,000 / 10,000 conversations and transcripts of
   100 / 1,000 / 10,000 messages, and the request for older messages.
6. Prints the tables and writes them into docs/performance.md.
"""

import argparse
import asyncio
import datetime
import os
import pickle
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_MODEL = "local-echo-1"
API_KEY = "local-dev-key"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--ks", default="1,50,200,500", help="client counts, comma-separated")
    parser.add_argument("--tokens", type=int, default=100, help="tokens per reply")
    parser.add_argument("--token-delay", type=float, default=0.02, help="seconds per token")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds over which K start")
    parser.add_argument("--idle", type=int, default=1000, help="idle sockets for memory")
    parser.add_argument("--pages", default="10,1000,10000", help="sidebar sizes")
    parser.add_argument(
        "--transcripts", default="100,1000,10000", help="transcript lengths, comma-separated"
    )
    parser.add_argument(
        "--search-steps", type=int, default=4, help="bisection steps for the largest K under 100 ms"
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
        help="py-spy (raw collapsed stacks) the app and the provider during both phases at K",
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
    from .servers import Server

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
    users = max([*ks, args.idle])
    print(f"bench: {users} users with sessions", flush=True)
    cookies = data.signed_in_users(users, "bench")

    provider = Server("provider", env, work).start()
    provider_url = f"http://127.0.0.1:{provider.port}/local/v1"
    app_env = {
        **env,
        "LOCAL_PROVIDER_BASE_URL": provider_url,
        "BENCH_BASELINE_ENABLED": "true",
    }
    for item in args.app_env:
        name, _, value = item.partition("=")
        app_env[name] = value
    app = Server("app", app_env, work).start()
    ours = {os.getpid(), provider.pid, app.pid}
    report = Report(context={})
    try:
        import openai

        warnings.filterwarnings("ignore", category=DeprecationWarning)  # the Assistants API
        client = openai.OpenAI(base_url=provider_url, api_key=API_KEY, max_retries=0)
        remote = client.beta.assistants.create(model=PROVIDER_MODEL, name="Bench assistant")
        assistant = data.bench_assistant(remote_id=remote.id, model=PROVIDER_MODEL)
        report.phases, report.search, report.idle = asyncio.run(
            streaming(
                args,
                ks=ks,
                app=app,
                provider=provider,
                cookies=cookies,
                assistant_id=assistant.pk,
                remote_assistant_id=remote.id,
                work=work,
            )
        )
        verify_saved_replies(report.phases)
        quota_table(provider_url)
        report.memory = {
            "app_peak_kb": app.peak_rss_kb(),
            "provider_peak_kb": provider.peak_rss_kb(),
        }
    finally:
        app.stop()
        provider.stop()
    if sizes:
        page_tables(report, args, sizes, assistant, env, work)
    elapsed = time.monotonic() - started
    watch.stop()
    report.context = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "duration_s": elapsed,
        "machine": describe(),
        "token_delay": args.token_delay,
        "tokens": args.tokens,
        "ramp_s": args.ramp,
        "broadcast_interval": app_env.get(
            "CHAT_BROADCAST_INTERVAL", settings.CHAT_BROADCAST_INTERVAL
        ),
        "save_interval": app_env.get("CHAT_REPLY_SAVE_INTERVAL", settings.CHAT_REPLY_SAVE_INTERVAL),
        "load_before": load_before,
        "load_after": load_average(),
        "others": "; ".join(others_busy(watch, ours=ours, elapsed=elapsed)),
    }
    print()
    print(render(report))
    if not args.no_write:
        write(report, Path(args.out))
        print(f"bench: written to {args.out}")
    return 0


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
    from chat.models import Assistant

    from .report import Report, browser_pages_table, headline, pages_table, targets_table

    assistant = Assistant.objects.create(name="Bench assistant", model=PROVIDER_MODEL)
    report = Report(context={})
    page_tables(report, args, sizes, assistant, env, work)
    print(pages_table(report))
    print(browser_pages_table(report))
    print(targets_table(report))
    print("Headline")
    print(headline(report), flush=True)
    return 0


async def streaming(
    args, *, ks, app, provider, cookies, assistant_id, remote_assistant_id, work
) -> tuple[list, list, dict]:
    from .load import Target, analyse, close_sockets, open_sockets, stream_phase

    origin = f"http://127.0.0.1:{app.port}"
    targets = {
        "baseline": Target("baseline", f"ws://127.0.0.1:{app.port}/ws/bench/relay/", origin),
        "app": Target("app", f"ws://127.0.0.1:{app.port}/ws/chat/", origin),
    }
    common = {
        "tokens": args.tokens,
        "token_delay": args.token_delay,
        "assistant_id": assistant_id,
        "remote_assistant_id": remote_assistant_id,
    }

    # Warm both paths (imports, first connections, templates) before measuring anything.
    for kind in ("baseline", "app"):
        sockets = await open_sockets(targets[kind], cookies[:2])
        await stream_phase(targets[kind], sockets, ramp_s=0.0, **{**common, "tokens": 5})
        await close_sockets(sockets)

    idle = {}
    if args.idle:
        await asyncio.sleep(1.0)
        rss0 = app.rss_kb()
        print(f"bench: {args.idle} idle signed-in sockets", flush=True)
        sockets = await open_sockets(targets["app"], cookies[: args.idle])
        await asyncio.sleep(2.0)
        rss1 = app.rss_kb()
        await close_sockets(sockets)
        idle = {
            "sockets": args.idle,
            "rss0_kb": rss0,
            "rss1_kb": rss1,
            "per_connection_kb": (rss1 - rss0) / args.idle,
        }
        await asyncio.sleep(1.0)

    async def phase(kind: str, k: int):
        target = targets[kind]
        sockets = await open_sockets(target, cookies[:k] if kind == "app" else [None] * k)
        profilers = []
        if args.profile == k:
            profilers = [start_profiler(server, work, f"{kind}-K{k}") for server in (app, provider)]
        cpu = (app.cpu_seconds(), provider.cpu_seconds(), time.process_time())
        runs, _ = await stream_phase(target, sockets, ramp_s=args.ramp, **common)
        used = (app.cpu_seconds(), provider.cpu_seconds(), time.process_time())
        for profiler in profilers:
            stop_profiler(profiler)
        await close_sockets(sockets)
        result = analyse(kind, runs, args.tokens)
        # Every frame with its receipt time, for digging (between phases: may block).
        (work / f"{kind}-K{k}.frames.pickle").write_bytes(pickle.dumps(runs))
        result.server_cpu_s, result.provider_cpu_s, result.client_cpu_s = (
            after - before for after, before in zip(used, cpu, strict=True)
        )
        print(
            f"bench: K={k:<4} {kind:<8} p50 {result.latency(0.5):7.1f} ms  "
            f"p99 {result.latency(0.99):7.1f} ms  ttft p50 {result.first_token(0.5):7.1f} ms  "
            f"{result.deltas_per_s:8.0f} deltas/s  {result.completed}/{k} done  "
            f"{result.errors} errors  {result.lost_tokens + result.bad_transcripts} lost  "
            f"cpu app {result.server_cpu_s:.1f}s provider {result.provider_cpu_s:.1f}s "
            f"client {result.client_cpu_s:.1f}s",
            flush=True,
        )
        for failure in sorted(set(result.failures))[:5]:
            print(f"bench:     failure: {failure}", flush=True)
        await asyncio.sleep(1.0)
        return result

    phases = []
    for k in ks:
        for kind in ("baseline", "app"):
            phases.append(await phase(kind, k))

    # The largest K whose p99 stays under the limit: bisect between the measured K that keep
    # it and the first that does not, app only, a few steps (bounded in time).
    search = []
    passing = [p.clients for p in phases if p.kind == "app" and within_limit(p)]
    failing = [p.clients for p in phases if p.kind == "app" and not within_limit(p)]
    low = max(passing, default=0)
    high = min((k for k in failing if k > low), default=None)
    for _ in range(args.search_steps):
        if high is None or high - low <= max(1, low // 10):
            break
        middle = (low + high) // 2
        result = await phase("app", middle)
        search.append(result)
        if within_limit(result):
            low = middle
        else:
            high = middle
    return phases, search, idle


def within_limit(result) -> bool:
    from .report import P99_LIMIT_MS

    return result.errors == 0 and result.latency(0.99) < P99_LIMIT_MS


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
    """What the app saved must equal the provider's text too (not only what was streamed)."""
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
