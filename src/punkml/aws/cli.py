"""``punkml aws package|deploy|destroy|glue-columns``: build and run the AWS deployment.

These commands work on the repository's ``terraform/`` and ``build/lambda/``, not on a local
deployment, so they take no ``--home``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from punkml.aws import deploy
from punkml.aws.package import (
    DEFAULT_ARCHITECTURE,
    DEFAULT_PYTHON_VERSION,
    PACKAGES,
    PLATFORM_TAGS,
    build_package,
)

app = typer.Typer(
    help="Build the Lambda packages and deploy or destroy the AWS architecture (docs/aws.md).",
    no_args_is_help=True,
)


@app.command("package")
def package(
    packages: Annotated[
        list[str] | None,
        typer.Argument(
            help=f"Which packages to build, any of {', '.join(PACKAGES)} (all).", show_default=False
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Directory of the zip files.", file_okay=False)
    ] = Path("build/lambda"),
    python_version: Annotated[
        str, typer.Option("--python-version", help="Python version of the Lambda runtime.")
    ] = DEFAULT_PYTHON_VERSION,
    architecture: Annotated[
        str,
        typer.Option(
            "--architecture",
            help=f"Lambda architecture: {', '.join(PLATFORM_TAGS)}, or native (this machine and "
            "interpreter, for tests).",
        ),
    ] = DEFAULT_ARCHITECTURE,
) -> None:
    """Build <out>/collector.zip and <out>/processor.zip from this source tree, reproducibly."""
    chosen = packages or list(PACKAGES)
    unknown = sorted(set(chosen) - set(PACKAGES))
    if unknown:
        raise typer.BadParameter(f"unknown package(s) {', '.join(unknown)}; use {PACKAGES}")
    if architecture not in (*PLATFORM_TAGS, "native"):
        raise typer.BadParameter(f"use one of {', '.join(PLATFORM_TAGS)} or native")
    platform = None if architecture == "native" else architecture
    for name in chosen:
        path = build_package(name, out, python_version=python_version, architecture=platform)
        typer.echo(f"{path}: {path.stat().st_size / 1e6:.1f} MB")


@app.command("deploy")
def deploy_command() -> None:
    """terraform apply of terraform/ (checks terraform, AWS credentials, the Punk API URL and the
    Lambda packages first; Terraform asks before it changes anything)."""
    deploy.run("apply")


@app.command("destroy")
def destroy_command() -> None:
    """terraform destroy of what `punkml aws deploy` created (Terraform asks first)."""
    deploy.run("destroy")


@app.command("glue-columns")
def glue_columns_command() -> None:
    """Print the Glue tables for Terraform (redirect into terraform/glue_tables.tf.json)."""
    from punkml.aws import glue_columns  # the lake schema needs pyarrow: kept off `punkml --help`

    typer.echo(glue_columns.render(), nl=False)
