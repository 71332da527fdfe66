"""Terraform checked statically: parsed with python-hcl2 to assert the wiring, checkov, fmt/validate."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

from punkml.aws.glue_columns import TERRAFORM_FILE
from punkml.aws.package import trimmed

REPO = Path(__file__).resolve().parents[2]
TF_DIR = REPO / "terraform"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def _clean(value: Any) -> Any:
    """python-hcl2 keeps string quotes and block markers; strip both."""
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@cache
def config() -> dict[str, list[Any]]:
    """Every top-level block of every .tf file, merged by kind."""
    merged: dict[str, list[Any]] = {}
    for path in sorted(TF_DIR.glob("*.tf")):
        with path.open() as handle:
            for kind, blocks in _clean(hcl2.load(handle)).items():
                merged.setdefault(kind, []).extend(blocks)
    return merged


def resources(kind: str) -> dict[str, dict[str, Any]]:
    """``{name: body}`` of every resource of ``kind``."""
    found: dict[str, dict[str, Any]] = {}
    for block in config().get("resource", []):
        for name, body in block.get(kind, {}).items():
            found[name] = body
    return found


def data_sources(kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in config().get("data", []):
        for name, body in block.get(kind, {}).items():
            found[name] = body
    return found


def locals_() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in config().get("locals", []):
        merged.update(block)
    return merged


def variables() -> dict[str, dict[str, Any]]:
    return {name: body for block in config()["variable"] for name, body in block.items()}


def one(block: Any) -> dict[str, Any]:
    """hcl2 gives nested blocks as lists; most here appear once."""
    assert isinstance(block, list) and len(block) == 1, block
    return block[0]


def all_text() -> str:
    return "\n".join(path.read_text() for path in sorted(TF_DIR.glob("*.tf*")))


# -- wiring ---------------------------------------------------------------------------------------


def test_aws_provider_is_version_5_or_newer() -> None:
    providers = one(one(config()["terraform"])["required_providers"])
    constraint = providers["aws"]["version"]
    assert re.match(r"^>= ?5(\.|,|$)", constraint), constraint


def test_every_lambda_handler_exists_in_the_package() -> None:
    functions = resources("aws_lambda_function")
    assert set(functions) == {"collector", "processor"}
    local = locals_()
    for name, body in functions.items():
        reference = re.fullmatch(r"\$\{local\.(\w+)\}", body["handler"])
        assert reference, body["handler"]
        dotted = local[reference.group(1)]
        module_name, _, attribute = dotted.rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attribute)), dotted
        package = re.fullmatch(r"\$\{local\.(\w+)\}", body["filename"])
        assert package and local[package.group(1)].endswith(f"/{name}.zip")
        module_path = module_name.replace(".", "/") + ".py"
        assert not trimmed(module_path)
        built = REPO / "build" / "lambda" / f"{name}.zip"
        if built.exists():  # after `make lambda-package`
            assert module_path in zipfile.ZipFile(built).namelist()


def test_lambdas_run_python_3_12_or_newer() -> None:
    runtime = variables()["lambda_runtime"]["default"]
    assert re.fullmatch(r"python3\.(1[2-9])", runtime)
    for body in resources("aws_lambda_function").values():
        assert body["runtime"] == "${var.lambda_runtime}"


def test_collector_gets_the_api_url_and_the_stream_from_variables() -> None:
    environment = one(resources("aws_lambda_function")["collector"]["environment"])["variables"]
    assert environment["PUNKML_SOURCE_URL"] == "${var.punk_api_base_url}"
    assert environment["PUNKML_STREAM"] == "kinesis://${aws_kinesis_stream.beers.name}"


def test_schedule_runs_every_five_minutes_by_default() -> None:
    assert variables()["schedule_rate_minutes"]["default"] == 5
    rule = resources("aws_cloudwatch_event_rule")["collect"]
    assert "var.schedule_rate_minutes" in rule["schedule_expression"]
    target = resources("aws_cloudwatch_event_target")["collect"]
    assert target["arn"] == "${aws_lambda_function.collector.arn}"
    permission = resources("aws_lambda_permission")["collect_from_schedule"]
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == "${aws_cloudwatch_event_rule.collect.arn}"


def test_stream_mode_shards_and_retention_are_variables() -> None:
    stream = resources("aws_kinesis_stream")["beers"]
    assert one(stream["stream_mode_details"])["stream_mode"] == "${var.stream_mode}"
    assert "var.stream_shard_count" in stream["shard_count"]
    assert stream["retention_period"] == "${var.stream_retention_hours}"
    assert stream["encryption_type"] == "KMS"


def test_raw_delivery_is_gzip_under_hourly_prefixes_with_an_error_prefix() -> None:
    raw = resources("aws_kinesis_firehose_delivery_stream")["raw"]
    assert one(raw["kinesis_source_configuration"])["kinesis_stream_arn"] == (
        "${aws_kinesis_stream.beers.arn}"
    )
    s3 = one(raw["extended_s3_configuration"])
    assert s3["compression_format"] == "GZIP"
    assert s3["prefix"] == "${local.raw_prefix}!{timestamp:yyyy/MM/dd/HH}/"
    assert locals_()["raw_prefix"] == "raw/"
    assert s3["error_output_prefix"].startswith("errors/raw/")


def test_cleaned_deliveries_run_the_processor_and_convert_to_parquet_with_the_glue_schema() -> None:
    cleaned = resources("aws_kinesis_firehose_delivery_stream")["cleaned"]
    assert cleaned["for_each"] == "${local.cleaned_tables}"
    s3 = one(cleaned["extended_s3_configuration"])
    processor = one(one(s3["processing_configuration"])["processors"])
    assert processor["type"] == "Lambda"
    arns = [
        p["parameter_value"] for p in processor["parameters"] if p["parameter_name"] == "LambdaArn"
    ]
    assert arns == ["${aws_lambda_function.processor[each.key].arn}:$LATEST"]
    conversion = one(s3["data_format_conversion_configuration"])
    schema = one(conversion["schema_configuration"])
    assert schema["table_name"] == "${local.glue_cleaned_tables[each.key].name}"
    assert schema["database_name"] == "${aws_glue_catalog_database.lake.name}"
    serializer = one(one(conversion["output_format_configuration"])["serializer"])
    assert "parquet_ser_de" in serializer
    assert "ingest_date=!{timestamp:yyyy-MM-dd}" in s3["prefix"]
    assert s3["error_output_prefix"].startswith("errors/cleaned/")


def generated() -> dict[str, Any]:
    return json.loads((REPO / TERRAFORM_FILE).read_text())


def test_glue_tables_are_the_generated_table_inputs_of_the_lake_schema() -> None:
    from punkml.aws.glue_columns import TERRAFORM_ROOT, table_input
    from punkml.pipeline.lake_schema import CLEANED_TABLES, glue_tables

    tables = generated()["resource"]["aws_glue_catalog_table"]
    assert list(tables) == [table.name for table in glue_tables()]
    for table in glue_tables():
        body, expected = tables[table.name], table_input(table, TERRAFORM_ROOT)
        columns = expected["StorageDescriptor"]["Columns"]
        assert body["storage_descriptor"]["columns"] == [
            {"name": c["Name"], "type": c["Type"]} for c in columns
        ]
        assert [c["name"] for c in body["storage_descriptor"]["columns"]] == table.schema.names
        assert body["database_name"] == "${aws_glue_catalog_database.lake.name}"
    cleaned = generated()["locals"]["glue_cleaned_tables"]
    assert cleaned == {t.name: f"${{aws_glue_catalog_table.{t.name}}}" for t in CLEANED_TABLES}
    # No hand-written Glue table anywhere in the .tf files.
    assert resources("aws_glue_catalog_table") == {}
    assert locals_()["cleaned_tables"] == "${toset(keys(local.glue_cleaned_tables))}"


def test_tables_of_older_deployments_are_moved_not_recreated() -> None:
    """Before one resource per table, the cleaned tables were ``cleaned["<table>"]``: every one of
    them has a ``moved`` block to its generated resource, so an upgrade renames state in place."""
    from punkml.pipeline.lake_schema import CLEANED_TABLES

    generated_tables = generated()["resource"]["aws_glue_catalog_table"]
    moves = {block["from"]: block["to"] for block in config().get("moved", [])}
    expected = {
        f'${{aws_glue_catalog_table.cleaned["{t.name}"]}}': f"${{aws_glue_catalog_table.{t.name}}}"
        for t in CLEANED_TABLES
    }
    assert moves == expected, moves
    assert all(target.split(".")[-1].rstrip("}") in generated_tables for target in moves.values())


def test_terraform_prefixes_are_the_lake_schema_directories() -> None:
    from punkml.pipeline.lake_schema import BEERS, RAW

    assert locals_()["raw_prefix"] == f"{RAW.directory}/"
    assert BEERS.directory.startswith(locals_()["cleaned_prefix"])


def test_glue_tables_use_partition_projection() -> None:
    for body in generated()["resource"]["aws_glue_catalog_table"].values():
        parameters = body["parameters"]
        assert parameters["projection.enabled"] == "true"
        key = one(body["partition_keys"])["name"]
        template = parameters["storage.location.template"]
        # A literal ${key} for Glue, written $${key} so that Terraform does not interpolate it.
        assert template.startswith("s3://${aws_s3_bucket.lake.bucket}/")
        assert template.endswith(f"$${{{key}}}/")


def test_no_managed_full_access_policy_anywhere() -> None:
    assert "FullAccess" not in all_text()
    for kind in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment"):
        assert resources(kind) == {}
    for role in resources("aws_iam_role").values():
        assert "managed_policy_arns" not in role


def test_role_policies_name_their_actions_and_resources() -> None:
    documents = data_sources("aws_iam_policy_document")
    for name, document in documents.items():
        if name in ("kms", "lake_bucket"):
            continue  # the key policy and the bucket's deny-insecure-transport policy
        for statement in document["statement"]:
            if "principals" in statement:
                continue  # a trust policy: no resources by design
            actions = statement["actions"]
            assert all("*" not in action for action in actions), (name, actions)
            listed = statement.get("resources", [])
            listed = listed if isinstance(listed, list) else [listed]
            assert "*" not in listed and listed, (name, statement)
    assert set(resources("aws_iam_role")) == {
        "collector",
        "processor",
        "firehose_raw",
        "firehose_cleaned",
    }


def test_lake_bucket_is_encrypted_private_versioned_and_has_lifecycle_rules() -> None:
    bucket = resources("aws_s3_bucket")["lake"]
    assert bucket["bucket"] == "${local.lake_bucket_name}"
    assert "${local.suffix}" in locals_()["prefix"]
    assert "local.account_id" in locals_()["suffix"] and "local.region" in locals_()["suffix"]
    sse = one(resources("aws_s3_bucket_server_side_encryption_configuration")["lake"]["rule"])
    assert one(sse["apply_server_side_encryption_by_default"])["sse_algorithm"] == "aws:kms"
    block = resources("aws_s3_bucket_public_access_block")["lake"]
    assert all(
        block[key] is True
        for key in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    versioning = resources("aws_s3_bucket_versioning")["lake"]
    assert one(versioning["versioning_configuration"])["status"] == "Enabled"
    rules = resources("aws_s3_bucket_lifecycle_configuration")["lake"]["rule"]
    assert {rule["id"] for rule in rules} >= {
        "raw-to-infrequent-access",
        "expire-noncurrent-versions",
    }
    ownership = one(resources("aws_s3_bucket_ownership_controls")["lake"]["rule"])
    assert ownership["object_ownership"] == "BucketOwnerEnforced"


def test_every_log_group_has_a_retention_and_every_function_logs_to_one() -> None:
    groups = resources("aws_cloudwatch_log_group")
    assert groups
    for body in groups.values():
        assert body["retention_in_days"] == "${var.log_retention_days}"
    for body in resources("aws_lambda_function").values():
        assert "aws_cloudwatch_log_group" in one(body["logging_config"])["log_group"]


def test_outputs_name_everything_a_user_needs() -> None:
    outputs = {name for block in config()["output"] for name in block}
    assert outputs >= {
        "lake_bucket",
        "lake_uri",
        "stream_name",
        "stream_uri",
        "glue_database",
        "catalog_uri",
        "athena_workgroup",
        "collector_function",
        "raw_delivery_stream",
        "cleaned_delivery_streams",
    }


# -- tools ----------------------------------------------------------------------------------------


def test_checkov_reports_no_failed_check() -> None:
    if not CHECKOV.exists():
        pytest.skip(f"{CHECKOV} missing: run `make checkov-venv` (make test does)")
    done = subprocess.run(
        [str(CHECKOV), "-d", str(TF_DIR), "--framework", "terraform", "--compact",
         "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    report = json.loads(done.stdout)
    summary = report["summary"]
    failed = [
        f"{check['check_id']} {check['resource']}" for check in report["results"]["failed_checks"]
    ]
    assert summary["failed"] == 0, failed
    assert summary["passed"] > 100
    for check in report["results"]["skipped_checks"]:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 30, f"skip of {check['check_id']} is not justified: {reason!r}"


def test_terraform_fmt_and_validate(tmp_path: Path) -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH: fmt -check and validate not run")
    fmt = subprocess.run(
        [terraform, "fmt", "-check", "-diff", str(TF_DIR)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    work = tmp_path / "terraform"
    shutil.copytree(TF_DIR, work, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    init = subprocess.run(
        [terraform, f"-chdir={work}", "init", "-backend=false", "-input=false", "-no-color"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if init.returncode != 0:
        pytest.skip(
            "terraform init cannot fetch the AWS provider here (no network): validate not run"
        )
    validate = subprocess.run(
        [terraform, f"-chdir={work}", "validate", "-no-color"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert validate.returncode == 0, validate.stdout + validate.stderr
