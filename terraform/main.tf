data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  # Global names (S3 buckets) need a suffix no other account or region uses: a short hash of
  # both, unless the user gives one.
  suffix = var.name_suffix != "" ? var.name_suffix : substr(sha256("${local.account_id}:${local.region}"), 0, 8)
  prefix = "${var.project}-${local.suffix}"

  lake_bucket_name     = "${local.prefix}-lake"
  stream_name          = "${local.prefix}-beers"
  glue_database_name   = replace("${local.prefix}_lake", "-", "_")
  collector_name       = "${local.prefix}-collector"
  raw_delivery_name    = "${local.prefix}-raw"
  athena_workgroup     = "${local.prefix}-athena"
  collector_dlq_name   = "${local.prefix}-collector-dlq"
  raw_prefix           = "raw/"
  cleaned_prefix       = "cleaned/"
  athena_result_prefix = "athena-results/"

  # One processor function and one delivery per cleaned table; the tables are declared in
  # glue_tables.tf.json, generated from punkml.pipeline.lake_schema (the local lake's layout, so
  # these prefixes must match its directories: a test checks them).
  cleaned_tables = toset(keys(local.glue_cleaned_tables))
  # The raw delivery has a processor too: it writes the same raw lines as the local lake.
  processor_tables = setunion(["raw_beers"], local.cleaned_tables)

  collector_package = "${var.lambda_package_dir}/collector.zip"
  processor_package = "${var.lambda_package_dir}/processor.zip"

  collector_handler = "punkml.aws.collector_handler.handler"
  processor_handler = "punkml.aws.firehose_processor.handler"

  log_group_arn_prefix = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group"
}
