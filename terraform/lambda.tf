# Two packages built by `make lambda-package` from src/punkml: the collector (Punk API client →
# Kinesis) and the Firehose processor (raw lines, or validate → clean → JSON rows for the Parquet
# conversion), one processor function per lake table.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --- collector ------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "collector" {
  name              = "/aws/lambda/${local.collector_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.lake.arn
}

resource "aws_sqs_queue" "collector_dlq" {
  name                      = local.collector_dlq_name
  message_retention_seconds = 1209600
  kms_master_key_id         = aws_kms_key.lake.arn
}

resource "aws_iam_role" "collector" {
  name               = "${local.collector_name}-role"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "collector" {
  statement {
    sid       = "PutIntoTheBeerStream"
    actions   = ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary"]
    resources = [aws_kinesis_stream.beers.arn]
  }

  statement {
    sid       = "EncryptStreamRecordsAndQueueMessages"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.lake.arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.collector.arn}:*"]
  }

  statement {
    sid       = "DeadLetterFailedRuns"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.collector_dlq.arn]
  }
}

resource "aws_iam_role_policy" "collector" {
  name   = "collector"
  role   = aws_iam_role.collector.id
  policy = data.aws_iam_policy_document.collector.json
}

resource "aws_lambda_function" "collector" {
  # checkov:skip=CKV_AWS_117:The collector must reach the public Punk API; a VPC would need a NAT gateway (about 32 USD a month) for no isolation gain, as it holds no data.
  # checkov:skip=CKV_AWS_50:X-Ray tracing needs xray:Put* on Resource "*"; one run every 5 minutes is followed well enough by its logs and Lambda metrics.
  # checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile; the package is built reproducibly from the tested source by `make lambda-package`.
  function_name                  = local.collector_name
  description                    = "Fetch random beers from the Punk API and put them into the Kinesis stream"
  role                           = aws_iam_role.collector.arn
  runtime                        = var.lambda_runtime
  architectures                  = [var.lambda_architecture]
  handler                        = local.collector_handler
  filename                       = local.collector_package
  source_code_hash               = filebase64sha256(local.collector_package)
  memory_size                    = 256
  timeout                        = 60
  reserved_concurrent_executions = var.lambda_reserved_concurrency
  kms_key_arn                    = aws_kms_key.lake.arn

  environment {
    variables = {
      PUNKML_SOURCE_URL    = var.punk_api_base_url
      PUNKML_STREAM        = "kinesis://${aws_kinesis_stream.beers.name}"
      PUNKML_BEERS_PER_RUN = tostring(var.collector_beers_per_run)
    }
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.collector_dlq.arn
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.collector.name
  }

  depends_on = [aws_iam_role_policy.collector]
}

# --- Firehose processors (one per lake table: raw_beers and each cleaned table) ---------------------------------------------

resource "aws_cloudwatch_log_group" "processor" {
  for_each = local.processor_tables

  name              = "/aws/lambda/${local.prefix}-to-${replace(each.key, "_", "-")}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.lake.arn
}

resource "aws_iam_role" "processor" {
  name               = "${local.prefix}-processor-role"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "processor" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in aws_cloudwatch_log_group.processor : "${group.arn}:*"]
  }

  statement {
    sid       = "DecryptOwnEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.lake.arn]
  }
}

resource "aws_iam_role_policy" "processor" {
  name   = "processor"
  role   = aws_iam_role.processor.id
  policy = data.aws_iam_policy_document.processor.json
}

resource "aws_lambda_function" "processor" {
  # checkov:skip=CKV_AWS_116:Firehose invokes the processor synchronously and keeps failed records under errors/ itself; a Lambda DLQ only serves asynchronous invocations.
  # checkov:skip=CKV_AWS_117:The processor only transforms the records Firehose hands it and calls no other service; a VPC adds cost and cold-start time for no isolation gain.
  # checkov:skip=CKV_AWS_50:X-Ray tracing needs xray:Put* on Resource "*"; Firehose's own metrics and the function logs cover the processor.
  # checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile; the package is built reproducibly from the tested source by `make lambda-package`.
  for_each = local.processor_tables

  function_name                  = "${local.prefix}-to-${replace(each.key, "_", "-")}"
  description                    = "Firehose processor: stream records to ${each.key} rows"
  role                           = aws_iam_role.processor.arn
  runtime                        = var.lambda_runtime
  architectures                  = [var.lambda_architecture]
  handler                        = local.processor_handler
  filename                       = local.processor_package
  source_code_hash               = filebase64sha256(local.processor_package)
  memory_size                    = 512
  timeout                        = 120
  reserved_concurrent_executions = var.lambda_reserved_concurrency
  kms_key_arn                    = aws_kms_key.lake.arn

  environment {
    variables = {
      PUNKML_TABLE = each.key
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.processor[each.key].name
  }

  depends_on = [aws_iam_role_policy.processor]
}
