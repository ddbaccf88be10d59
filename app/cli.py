"""The `steward` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot import __version__
from bot.config import Config, load_config
from bot.core import Steward
from bot.errors import ConfigError, InputError, StewardError
from storage.db import DatabaseUrlError

if TYPE_CHECKING:
    from adapters.console.adapter import ConsoleAdapter, LocalCommand

log = logging.getLogger("steward")
SLUG = re.compile(r"[A-Za-z0-9_-]{1,64}")  # as in the config file (bot/config.py)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=os.environ.get("STEWARD_CONFIG"),
                        help="TOML config file (default: $STEWARD_CONFIG, else built-in defaults)")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    common.add_argument("--log-format", choices=("text", "json"), default=os.environ.get("STEWARD_LOG_FORMAT", "text"),
                        help="text (default) or json: one JSON object per line, for a log pipeline")
    common.add_argument("--debug", action="store_true", default=bool(os.environ.get("STEWARD_DEBUG")),
                        help="on a fault, also print the traceback (or set STEWARD_DEBUG=1)")
    parser = argparse.ArgumentParser(prog="steward", description="Steward: helps communities of practice thrive.")
    parser.add_argument("--version", action="version", version=f"steward {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    chat = sub.add_parser("chat", parents=[common], help="talk to Steward in the terminal")
    chat.add_argument("--as", dest="user", default=os.environ.get("USER") or "you", help="your member name")
    chat.add_argument("--community", default="demo", help="community to talk in (default: demo); it must exist "
                      "(configured, imported, or made with --create)")
    chat.add_argument("--create", action="store_true", help="create --community first if it does not exist "
                      "(a local community: you run it from the terminal until it has coordinators)")
    demo = sub.add_parser("demo", parents=[common], help="create the demo community if absent, then chat")
    demo.add_argument("--as", dest="user", default="sam", help="your member name (default sam, a newcomer; "
                      "try bruno, a coordinator; grace, a sponsor; ana, a helm expert)")
    sub.add_parser("run", parents=[common], help="start the adapters the config enables")
    webp = sub.add_parser("web", parents=[common], help="serve the web pages (health, digests, portfolio) and "
                          "print a one-time sign-in link; `--community demo` makes the demo community first")
    webp.add_argument("--community", default="demo", help="the community whose pages to open (default: demo)")
    webp.add_argument("--as", dest="user", help="sign in as this member (platform:id) instead of as the operator")
    webp.add_argument("--http", help="host:port to serve on (default: [steward] http, 127.0.0.1:8080)")
    imp = sub.add_parser("import", parents=[common], help="import a community's history")
    imp_sub = imp.add_subparsers(dest="import_kind", metavar="KIND")
    imp_sub.required = True
    slack = imp_sub.add_parser("slack-export", parents=[common], help="a Slack workspace export (folder or .zip)")
    slack.add_argument("path", type=Path, help="the export folder or .zip")
    slack.add_argument("--community", required=True, help="community to import into (created if absent)")
    slack.add_argument("--max-file-size", type=_size, default="200MB", metavar="SIZE",
                       help="largest file of the export to read, uncompressed (default 200MB)")
    slack.add_argument("--max-total-size", type=_size, default="2GB", metavar="SIZE",
                       help="most the whole export may expand to (default 2GB)")
    teams = sub.add_parser("teams", parents=[common], help="members' teams (for the thanks across teams)")
    teams_sub = teams.add_subparsers(dest="teams_command", metavar="ACTION")
    teams_sub.required = True
    teams_import = teams_sub.add_parser("import", parents=[common], help="members' teams from a CSV file (columns "
                                        "member and team; an empty team removes it)")
    teams_import.add_argument("path", type=Path, help="the CSV file: a header line naming the member and team columns")
    teams_import.add_argument("--community", required=True, help="the community's slug, e.g. k8s")
    teams_import.add_argument("--dry-run", action="store_true", help="check the file and say what would change, "
                              "writing nothing")
    who = sub.add_parser("who", parents=[common], help="who knows about a question (from imported history)")
    who.add_argument("question", nargs="?", help="the question, e.g. \"who can help with helm upgrades?\"")
    who.add_argument("--community", required=True, help="community to search")
    who.add_argument("--top", type=_positive, help="how many people (default 3)")
    who.add_argument("--asker", help="platform user id of the person asking (never suggested)")
    who.add_argument("--json", action="store_true", help="print JSON")
    who.add_argument("--batch", type=Path, help="JSONL file of {\"id\", \"text\", \"asker\"} lines (- for stdin)")
    who.add_argument("--replay", action="store_true",
                     help="with --batch: take the lines in time order (ts) as if each asker said \"Ask them\", and "
                          "print whom Steward would ask under the care rules (caps, availability, spreading)")
    ical = sub.add_parser("ical", parents=[common], help="print a community's iCalendar feed (meetups, reminders)")
    ical.add_argument("--community", required=True, help="the community's slug, e.g. k8s")
    link = sub.add_parser("calendar-link", parents=[common],
                          help="print the secret address of a community's iCalendar feed")
    link.add_argument("--community", required=True, help="the community's slug, e.g. k8s")
    link.add_argument("--rotate", action="store_true", help="make a new address first (the old one stops working)")
    export = sub.add_parser("export", parents=[common], help="export data (admin tool)")
    export_sub = export.add_subparsers(dest="export_kind", metavar="KIND")
    export_sub.required = True
    contrib = export_sub.add_parser("contributions", parents=[common],
                                    help="the contribution ledger, e.g. for performance reviews")
    contrib.add_argument("--community", required=True, help="the community's slug, e.g. k8s")
    contrib.add_argument("--since", help="only entries from this date (YYYY-MM-DD)")
    contrib.add_argument("--member", type=int, help="only this member id")
    contrib.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (default) or json")
    survey = export_sub.add_parser("survey", parents=[common],
                                   help="a closed pulse survey's results as CSV (aggregates only, within the "
                                   "anonymity threshold)")
    survey.add_argument("--community", required=True, help="the community's slug, e.g. k8s")
    survey.add_argument("--survey", required=True, type=int, help="the survey's number (say `surveys` in chat)")
    digest = sub.add_parser("digest", parents=[common], help="render a community's sponsor digest for a month, "
                            "or every community side by side (--portfolio)")
    which = digest.add_mutually_exclusive_group(required=True)
    which.add_argument("--community", help="the community's slug, e.g. k8s")
    which.add_argument("--portfolio", action="store_true", help="every community's stage, trend and health")
    digest.add_argument("--month", required=True, help="the month, e.g. 2026-10")
    digest.add_argument("--format", choices=("md", "html", "png"), default="md",
                        help="md (the chat text), html (a page) or png (the chart)")
    digest.add_argument("--output", type=Path, help="write to this file instead of standard output")
    digest.add_argument("--locale", choices=("en", "fr"), help="language (default: the community's)")
    doctor = sub.add_parser("doctor", parents=[common], help="check a config, its secrets, the database and the "
                            "Slack manifest before going live (sends nothing)")
    doctor.add_argument("--manifest", type=Path, help="the Slack app manifest to check (default: the shipped one)")
    db = sub.add_parser("db", parents=[common], help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    db_sub.required = True
    db_sub.add_parser("upgrade", parents=[common], help="apply database migrations")
    backup = db_sub.add_parser("backup", parents=[common], help="copy the whole database to a new file "
                               "(SQLite: online, while Steward runs; PostgreSQL: pg_dump)")
    backup.add_argument("path", type=Path, help="the file to write (must not exist)")
    restore = db_sub.add_parser("restore", parents=[common], help="replace the database's content with a backup")
    restore.add_argument("path", type=Path, help="a file written by `steward db backup`")
    restore.add_argument("--yes", action="store_true", help="confirm: every row is replaced (stop Steward first)")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a whole number between 1 and 100, got {text!r}")
    return value


def _size(text: str) -> int:
    from app.cli_import import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `steward` console script."""
    args = _parser().parse_args(argv)
    from app.logs import configure

    configure(logging.DEBUG if args.verbose else logging.WARNING, getattr(args, "log_format", "text"))
    if args.command == "doctor":  # reports a bad config among its findings rather than refusing it
        from app import doctor

        code, report = doctor.run(args.config, args.manifest)
        print(report)
        return code
    config: Config | None = None
    try:
        config = load_config(args.config)
        quiet = logging.ERROR if args.command in ("chat", "demo") else logging.WARNING
        level = config.log_level if args.command == "run" else quiet
        logging.getLogger().setLevel(logging.DEBUG if args.verbose else level)
        logging.getLogger("alembic").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
        return asyncio.run(_run(args, config))
    except ConfigError as err:
        print(f"steward: configuration refused: {err}", file=sys.stderr)
        return 2
    except (DatabaseUrlError, InputError) as err:
        print(f"steward: {err}", file=sys.stderr)
        return 2
    except StewardError as err:
        print(f"steward: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a fault of the machine around Steward (database, disk): one line, no traceback
        return _fault(exc, args, config)


def _fault(exc: Exception, args: argparse.Namespace, config: Config | None) -> int:
    """Say what is wrong and how to fix it; the traceback only with --debug (it may quote anything)."""
    from storage.faults import explain, mask_secrets

    url = os.environ.get("STEWARD_DATABASE_URL") or None
    data_dir = config.data_dir if config is not None else load_config(None).data_dir
    if args.debug:
        import traceback

        traceback.print_exception(exc)
    message = explain(exc, url, data_dir)
    if message is None:
        message = (f"unexpected error: {type(exc).__name__}: {mask_secrets(str(exc), url)}. Run again with --debug "
                   "to see where; if it looks like a bug, please report it with that output.")
    print(f"steward: {mask_secrets(message, url)}", file=sys.stderr)
    return 1


async def _run(args: argparse.Namespace, config: Config) -> int:
    from app import runtime

    if args.command == "db" and args.db_command in ("backup", "restore"):
        return await _backup_or_restore(args, config)  # neither migrates nor opens Steward
    steward = await runtime.open_steward(config)
    try:
        if args.command == "db":
            print(f"database up to date: {steward.db.engine.url.render_as_string(hide_password=True)}")
            return 0
        if args.command == "import":
            from adapters.slack_export.reader import ImportLimits
            from app.cli_import import describe, import_slack_export

            configured = steward.config.community(args.community)
            summary = await import_slack_export(steward.db, args.path, args.community,
                                                kudos=configured.kudos_reactions if configured else ("pray",),
                                                limits=ImportLimits(args.max_file_size, args.max_total_size))
            print(describe(summary, args.community))
            return 0
        if args.command == "who":
            return await _who(steward, args)
        if args.command == "teams":
            from app import runtime
            from app.cli_teams import describe_teams, import_teams

            done = await import_teams(steward.db, args.path, args.community, dry_run=args.dry_run,
                                      known=await runtime.known_communities(steward))
            print(describe_teams(done, args.community, dry_run=args.dry_run))
            return 0
        if args.command == "export" and args.export_kind == "survey":
            from app.cli_export import export_survey

            await export_survey(steward.db, steward.config, args.community, args.survey, out=sys.stdout)
            return 0
        if args.command == "export":
            from app.cli_export import export_contributions

            await export_contributions(steward.db, args.community, since=args.since, member=args.member,
                                       fmt=args.format, out=sys.stdout)
            return 0
        if args.command == "demo":
            from app.demo import ensure_demo

            created = await ensure_demo(steward.db)
            print("Demo community created." if created else "Demo community found.")
            return await _chat(steward, "demo", args.user)
        if args.command == "ical":
            return await _ical(steward, args.community)
        if args.command == "web":
            from app.cli_web import serve_web

            return await serve_web(steward, args.community, args.user, args.http)
        if args.command == "calendar-link":
            return await _calendar_link(steward, args.community, rotate=args.rotate)
        if args.command == "digest":
            from app.cli_digest import render_digest, render_portfolio

            if args.portfolio:
                return await render_portfolio(steward, args.month, args.format, args.output, args.locale)
            return await render_digest(steward, args.community, args.month, args.format, args.output, args.locale)
        if args.command == "chat":
            await _known_or_created(steward, args.community, create=args.create)
            return await _chat(steward, args.community, args.user)
        return await _serve(steward)
    finally:
        await steward.db.dispose()


async def _known_or_created(steward: Steward, slug: str, *, create: bool) -> None:
    """Chat only in a community that exists: a typo must not make an empty one (nor change a known one)."""
    from app import runtime

    known = await runtime.known_communities(steward)
    if slug in known:
        return
    if create:
        if not SLUG.fullmatch(slug):
            raise InputError(f"cannot create community {slug!r}: a slug is letters, digits, - or _ (at most 64), "
                             "e.g. --community guild")
        await runtime.ensure_local_community(steward, slug)
        return
    listed = ", ".join(known) if known else "none yet"
    raise InputError(f"no community {slug!r} (known: {listed}). Pick one with --community, run `steward demo` "
                     f"for the demo, or add --create to make a new local community {slug!r}")


async def _backup_or_restore(args: argparse.Namespace, config: Config) -> int:
    from app.cli_db import Target, backup, restore
    from storage.db import resolve_url

    target = Target(resolve_url(os.environ.get("STEWARD_DATABASE_URL"), config.data_dir))
    if args.db_command == "backup":
        print(await asyncio.to_thread(backup, target, args.path))
    else:
        print(await asyncio.to_thread(restore, target, args.path, yes=args.yes))
    return 0


async def _who(steward: Steward, args: argparse.Namespace) -> int:
    from app import cli_who

    if args.replay and args.batch is None:
        raise InputError("--replay replays a file of questions: add --batch FILE (JSONL, one question a line)")
    if args.replay and args.top is not None:
        raise InputError("--replay asks three people per question, as Steward does live: drop --top")
    if args.batch is not None:
        if args.question:
            raise InputError("give either a QUESTION or --batch FILE, not both")
        if args.replay:
            bad = await cli_who.who_replay(steward.db, args.community, args.batch, out=sys.stdout, err=sys.stderr,
                                           services=steward.services)
        else:
            bad = await cli_who.who_batch(steward.db, args.community, args.batch, top=args.top or 3, out=sys.stdout,
                                          err=sys.stderr, services=steward.services)
        return 1 if bad else 0
    if not args.question:
        raise InputError('give a QUESTION (e.g. steward who "helm upgrades" --community k8s) or --batch FILE')
    await cli_who.who_one(steward.db, args.community, args.question, asker=args.asker, top=args.top or 3,
                          as_json=args.json, out=sys.stdout, services=steward.services)
    return 0


async def _ical(steward: Steward, community: str) -> int:
    from rituals.ical import UnknownCommunity, community_calendar

    try:
        sys.stdout.buffer.write(await community_calendar(steward.db, community))
    except UnknownCommunity:
        print(f"steward ical: no community {community!r}; use a slug from the config file", file=sys.stderr)
        return 2
    sys.stdout.flush()
    return 0


async def _calendar_link(steward: Steward, slug: str, *, rotate: bool) -> int:
    from bot.features.calendar import feed_link
    from storage.communities import get_community
    from storage.feeds import ensure_feed_token, rotate_feed_token

    async with steward.db.session() as session:
        community = await get_community(session, slug)
        if community is None or community.id is None:
            print(f"steward calendar-link: no community {slug!r}; use a slug from the config file", file=sys.stderr)
            return 2
        token = await (rotate_feed_token if rotate else ensure_feed_token)(session, community.id)
    print(feed_link(steward.config, slug, token))
    if not steward.config.public_url:
        print("(a path: put the address of Steward's HTTP server before it, or set [steward] public_url)",
              file=sys.stderr)
    if rotate:
        print("The previous address no longer works.", file=sys.stderr)
    return 0


async def _chat(steward: Steward, community: str, user: str, *, read_line: Callable[[str], str] | None = None,
                out: TextIO | None = None) -> int:
    """The terminal chat, with the scheduler running and `/advance` to move its clock forward."""
    from adapters.console.adapter import ConsoleAdapter
    from rituals.scheduler import RitualScheduler

    console = ConsoleAdapter(community, user, read_line=read_line, out=out,
                             locale=lambda: terminal_locale(steward, console))
    console.local["/advance"] = _advance_command(steward, console)
    steward.add_adapter(console)
    await steward.start_adapters()
    scheduler = RitualScheduler(steward)
    await scheduler.start()
    try:
        await console.run()
    finally:
        await scheduler.stop()
        await steward.stop()
    return 0


async def terminal_locale(steward: Steward, console: ConsoleAdapter) -> str:
    """The language of the person at the terminal: theirs if they chose one, else their community's."""
    from storage.communities import get_community
    from storage.members import find_member

    async with steward.db.session() as session:
        community = await get_community(session, console.community)
        if community is None or community.id is None:
            return steward.config.locale
        member = await find_member(session, community.id, console.platform, console.user)
    return (member.locale if member else None) or community.locale or steward.config.locale


def _advance_command(steward: Steward, console: ConsoleAdapter) -> LocalCommand:
    """`/advance 2d`: live the next two days now (ritual steps, closings, escalations), then move the clock."""
    from bot.i18n import plural_translator, translator
    from rituals.travel import BadDuration, advance, parse_duration

    async def run(arg: str) -> str:
        locale = await terminal_locale(steward, console)
        _ = translator(locale)
        try:
            delta = parse_duration(arg or "1d")
        except BadDuration as err:
            return _(err.msgid, **err.params)
        start = console.now()
        travel = await advance(steward, start, start + delta)
        console.offset += delta
        await steward.delivery.idle()
        n_ = plural_translator(locale)
        return _("⏩ Moved forward to {when} (UTC): {steps} and {jobs} ran.", when=f"{start + delta:%Y-%m-%d %H:%M}",
                 steps=n_("{n} ritual step", "{n} ritual steps", travel.steps),
                 jobs=n_("{n} other scheduled job", "{n} other scheduled jobs", travel.jobs))

    return run


async def _serve(steward: Steward) -> int:
    from app import runtime
    from app.adapters import configured_adapters

    adapters = configured_adapters(steward.config, steward.db)
    if not adapters:
        print("steward run: no adapter is configured. Add a [slack] or [matrix] section to your config "
              "(see config.example.toml) and pass it with --config FILE; or try `steward demo` "
              "to chat in the terminal.", file=sys.stderr)
        return 2
    from app.health import health_routes
    from app.web.routes import Web
    from rituals.ical import ical_routes
    from rituals.scheduler import RitualScheduler

    rituals = RitualScheduler(steward)
    pages = Web(steward)
    routes = [*ical_routes(steward), *health_routes(steward, rituals), *pages.routes()]
    carrier = next((a for a in adapters if getattr(a, "serves_http", False)), None)
    if carrier is not None:  # one HTTP server: the Slack endpoint's carries the others
        carrier.routes.extend(routes)  # type: ignore[attr-defined]
    for adapter in adapters:
        steward.add_adapter(adapter)
    alone = None if carrier is not None else await runtime.serve_http(routes, steward.config.http)
    # The expertise indexes load (or build) while the adapters connect: the first question waits less.
    warming = asyncio.create_task(runtime.warm_indexes(steward))
    await steward.start_adapters(wait=5.0)  # a platform still down after that keeps trying in the background
    await rituals.start()
    await steward.services.expertise.start_following(steward.config.index_follow_seconds)
    figures = pages.start_warming()  # the web pages' finished months, read in the background
    print(f"steward: running on {', '.join(a.platform for a in adapters)}; SIGTERM or Ctrl-C to stop")
    await runtime.wait_for_shutdown_signal()
    warming.cancel()
    figures.cancel()
    await steward.services.expertise.stop_following()
    await rituals.stop()
    await steward.stop()
    if alone is not None:
        await alone.cleanup()
    return 0
