"""``redline serve`` and ``redline users``: the bureau service and its accounts."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..main import RedlineGroup
from ..output import console, dumps, say

_STORE_HELP = ("Where the service keeps its data: sqlite:///PATH (default: REDLINE_STORE, else "
               "~/.local/share/redline/service.db) or postgresql://USER@HOST/DB (PostGIS).")


@click.command()
@click.option("--workspace", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Workspace TOML whose layers become version 1 when the store has none (default: the sample "
                   "county).")
@click.option("--store", "store_url", metavar="URL", help=_STORE_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (behind a reverse proxy: "
                                                                     "keep 127.0.0.1).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Job worker processes (each runs one job at a time).")
@click.option("--queue", "queue_limit", default=20, show_default=True, type=click.IntRange(1, 10_000),
              help="Jobs that may wait; beyond, a new job is answered 503 with Retry-After.")
def serve(workspace, store_url, host, port, workers, queue_limit):
    """Serve screening, indicators and conflicts for a bureau over HTTP (OGC API - Processes and Features).

    \b
    Example:
      printf '%s\\n' 'a long password' | redline users add wang --role admin --password-stdin
      redline serve --workspace data/qianjiang/workspace.toml --port 8000
    """
    import uvicorn

    from ..._resources import resource_dir
    from ...service.app import create_app
    from ...service.store import Store

    store = Store(store_url)
    ws = workspace or resource_dir("sample") / "workspace.toml"
    if not store.users():
        say("redline: no accounts yet: add one with  redline users add NAME --role admin --password-stdin"
            + (f" --store {store_url}" if store_url else ""))
    say(f"redline: serving on http://{host}:{port} (store {store.url.split('://', 1)[0]}, {workers} workers)")
    uvicorn.run(create_app(store, ws, workers=workers, queue_limit=queue_limit), host=host, port=port,
                log_level="info", proxy_headers=True)


@click.group(cls=RedlineGroup)
def users():
    """The service's accounts: add, list, disable."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "reviewer", "viewer"]), required=True,
              help="admin: layers and users; reviewer: upload and screen; viewer: browse and read results.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input (never "
                                                                     "from the command line, where ps shows it).")
@click.option("--store", "store_url", metavar="URL", help=_STORE_HELP)
def users_add(name, role, password_stdin, store_url):
    """Add an account.

    \b
    Example:
      printf '%s\\n' 'a long password' | redline users add wang --role reviewer --password-stdin
    """
    from ...service.auth import hash_password
    from ...service.store import Store

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        pw_hash = hash_password(password)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    store = Store(store_url)
    store.add_user(name, role, pw_hash)
    store.audit("(command line)", "user add", name, role=role)
    say(f"redline: added {name} ({role})")


@users.command("list")
@click.option("--store", "store_url", metavar="URL", help=_STORE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def users_list(store_url, as_json):
    """List the accounts.

    \b
    Example:
      redline users list --json
    """
    from rich.table import Table

    from ...service.store import Store

    rows = Store(store_url).users()
    if as_json:
        click.echo(dumps(rows))
        return
    table = Table("name", "role", "disabled", "created")
    for r in rows:
        table.add_row(r["name"], r["role"], "yes" if r["disabled"] else "", r["created_at"])
    console().print(table)


@users.command("disable")
@click.argument("name")
@click.option("--store", "store_url", metavar="URL", help=_STORE_HELP)
def users_disable(name, store_url):
    """Disable an account: its sessions and tokens end at once.

    \b
    Example:
      redline users disable wang
    """
    from ...service.store import Store

    store = Store(store_url)
    store.update_user(name, disabled=True)
    store.audit("(command line)", "user disable", name)
    say(f"redline: disabled {name}")
