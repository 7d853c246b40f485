"""Help screens that read cleanly: arguments shown as their metavar, never as Python types.

typer renders a required list argument as ``{REPORT...}...`` in the usage line and as
``REPORT... <list[str]>`` in the argument list; a user reads neither. Every command is made with
``cls=Command`` (or ``RunCommand``), which shows each argument as its metavar says, and which
refuses a number option given as nan or infinity (see ``Command.parse_args``).
"""

from __future__ import annotations

import math
from typing import Any, List, Tuple

import typer
from typer.core import TyperCommand


def command_group(help: str) -> typer.Typer:
    """A group of commands as every junit-flaky group reads: help when called bare, no shell
    completion to install, no rich tracebacks (errors are one line), help text as written."""
    return typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None, help=help)


class Command(TyperCommand):
    def parse_args(self, ctx: Any, args: List[str]) -> List[str]:
        """click's float ranges let nan through (every comparison with it is false) and infinity
        where there is no maximum: --rerun-timeout nan would turn the rerun watchdog off and
        --prior-weight inf write NaN, which is no JSON. Every number option takes finite values."""
        rest = super().parse_args(ctx, args)
        for param in self.get_params(ctx):
            value = ctx.params.get(param.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise typer.BadParameter(f"{value} is not a finite number.", ctx=ctx, param=param)
        return rest

    def collect_usage_pieces(self, ctx: Any) -> List[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        return pieces + [param.metavar for param in self.get_params(ctx) if _is_argument(param)]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments: List[Tuple[str, str]] = []
        options: List[Tuple[str, str]] = []
        for param in self.get_params(ctx):
            if _is_argument(param):
                arguments.append((param.metavar, param.help or ""))
            else:
                record = param.get_help_record(ctx)
                if record is not None:
                    options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


class RunCommand(Command):
    """``run``: what follows ``--`` is the rerun command, which click never sees."""

    def collect_usage_pieces(self, ctx: Any) -> List[str]:
        return super().collect_usage_pieces(ctx) + ["[-- RERUN COMMAND...]"]


def _is_argument(param: Any) -> bool:
    return param.param_type_name == "argument"
