"""The CLI reference, from ``remote_store._cli._parser.build_parser()`` (the argparse parser itself)."""

from __future__ import annotations

import argparse
from typing import Any

from refgen._util import cell, code


def _arguments(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | description | default |", "|---|---|---|"]
    for action in parser._actions:  # argparse keeps no public list of its actions
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            metavar = ""
            if action.nargs != 0:
                metavar = " " + str(action.metavar or action.dest.upper())
            name = ", ".join(f"{code(s + metavar)}" for s in action.option_strings)
        else:
            name = code(str(action.metavar or action.dest))
        default = action.default
        shown = "" if default in (None, False, argparse.SUPPRESS) or action.nargs == 0 else code(repr(default))
        rows.append(f"| {name} | {cell(action.help or '')} | {shown} |")
    return rows if len(rows) > 2 else []


def _commands(parser: argparse.ArgumentParser) -> dict[str, Any]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def render_cli() -> str:
    """The page ``reference/cli.md``."""
    from remote_store._cli._parser import PROG, build_parser

    parser = build_parser()
    commands = _commands(parser)
    lines = [
        "# Command line: `remote-store`",
        "",
        "Generated at build time from the `remote-store` argument parser",
        "(`remote_store._cli._parser.build_parser`); `remote-store COMMAND --help` prints the same.",
        "",
        str(parser.description),
        "",
        "```text",
        parser.format_usage().strip(),
        "```",
        "",
        "## Global options",
        "",
        *_arguments(parser),
        "",
        "## Commands",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    helps = {a.dest: a.help for a in _commands_actions(parser)}
    lines += [f"| [`{name}`](#{PROG}-{name}) | {cell(helps.get(name, ''))} |" for name in commands]
    lines += ["", "```text", str(parser.epilog), "```", ""]
    for name, sub in commands.items():
        lines += [
            f"## `{PROG} {name}` {{#{PROG}-{name}}}",
            "",
            str(sub.description),
            "",
            "```text",
            sub.format_usage().strip(),
            "```",
            "",
            *_arguments(sub),
            "",
        ]
        if sub.epilog:
            examples = str(sub.epilog).split("\n\n", 1)[0]
            lines += ["```text", examples, "```", ""]
    return "\n".join(lines)


def _commands_actions(parser: argparse.ArgumentParser) -> list[Any]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action._choices_actions)
    return []
