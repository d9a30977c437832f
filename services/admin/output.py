"""How every `newsflow` command answers: a table with headers for people (rich), the same facts
as JSON with `--json` for scripts, and one exit-code convention:

    0  done
    1  done, and something needs looking at (a rejected article, a stage not OK, an API's refusal)
    2  could not be done: a broker, node or API that does not answer or refuses the connection
       (one line naming what and where), or a command used wrongly
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, TypeVar

import httpx
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

EXIT_OK, EXIT_ATTENTION, EXIT_UNAVAILABLE = 0, 1, 2
M = TypeVar("M", bound=BaseModel)

# Piped into a file or another command, tables keep their full cells (rich would cut them to
# 80 columns); on a terminal they fit its width.
console = Console(width=None if sys.stdout.isatty() else 240)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 240)


def fail(message: str, code: int = EXIT_UNAVAILABLE) -> NoReturn:
    """One line on stderr, then the exit code: never a traceback."""
    errors.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def plain(value: Any) -> Any:
    """Models, lists and dicts of them as JSON values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(plain(value), indent=2, ensure_ascii=False, default=str) + "\n")


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
          right: Sequence[str] = (), caption: str | None = None) -> Table:
    """A table with a header row; `right` names the numeric columns (aligned right)."""
    shown = Table(title=title, caption=caption, header_style="bold", show_edge=False)
    for column in columns:
        shown.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        shown.add_row(*("-" if cell is None else str(cell) for cell in row))
    return shown


def emit(value: Any, as_json: bool, render: Callable[[], Any]) -> None:
    """`--json`: the value; else what `render` makes of it (a table, or lines)."""
    if as_json:
        print_json(value)
        return
    shown = render()
    if isinstance(shown, str):
        sys.stdout.write(shown + "\n")  # plain text as it is: no markup, no wrapping
    elif shown is not None:
        console.print(shown)


class Api:
    """One of newsflow's HTTP APIs, as the CLI calls it: an API that does not answer (or
    answers 5xx) is exit 2 naming it and its URL; a 4xx is exit 1 with the API's reason."""

    def __init__(self, name: str, base_url: str, key: str | None, timeout: float = 30.0) -> None:
        self.name, self.base_url = name, base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.timeout = timeout

    def call(self, method: str, path: str, json_body: Any = None,
             **params: str | int | bool | None) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = httpx.request(method, url, json=json_body, headers=self.headers, timeout=self.timeout,
                                     params={k: v for k, v in params.items() if v is not None})
        except httpx.HTTPError as exc:
            fail(f"cannot reach the {self.name} at {self.base_url}: {exc or type(exc).__name__}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            message = body.get("error", {}).get("message") if isinstance(body, dict) else None
            reason = message or response.text[:200] or response.reason_phrase
            where = f"the {self.name} at {self.base_url}"
            if response.status_code >= 500:
                fail(f"{where} answered {response.status_code}: {reason}")
            fail(f"{where} answered {response.status_code}: {reason}", EXIT_ATTENTION)
        return body

    def read(self, model: type[M], method: str, path: str, json_body: Any = None,
             **params: str | int | bool | None) -> M:
        """The answer as the model this CLI knows it by (an API of another release may differ)."""
        body = self.call(method, path, json_body, **params)
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            fail(f"the {self.name} at {self.base_url} answered {path} in a shape this newsflow does "
                 f"not know ({exc.error_count()} differences: is it another release?)")
