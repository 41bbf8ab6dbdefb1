"""The typer app and the command groups; subcommand modules register themselves on these."""
from __future__ import annotations

import typer

app = typer.Typer(
    name="deeperaction",
    help="Localized, detailed understanding of human actions in video.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
eval_app = typer.Typer(help="Score predictions with the official metrics (exact to the official scorers).",
                       no_args_is_help=True)
validate_app = typer.Typer(help="Check files in an official format; lists every problem found (exit 2).",
                           no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(validate_app, name="validate")


def _print_version(value: bool) -> None:
    if value:
        from deeperaction import __version__

        typer.echo(f"deeperaction {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """Localized, detailed understanding of human actions in video."""
