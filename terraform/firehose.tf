# Two kinds of delivery read the stream: raw (records as received, gzip JSON lines, hourly
# prefixes) and cleaned (one delivery per table: the processor Lambda turns each beer into rows,
# Firehose converts them to Parquet with the Glue table's schema).

data "aws_iam_policy_document" "firehose_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [local.account_id]
    }
  }
}

# What both kinds of delivery need: read the stream, find the bucket, use the key, log.
data "aws_iam_policy_document" "firehose_common" {
  statement {
    sid       = "ReadTheBeerStream"
    actions   = ["kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"]
    resources = [aws_kinesis_stream.beers.arn]
  }

  statement {
    sid       = "LocateTheLake"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [aws_s3_bucket.lake.arn]
  }

  statement {
    sid       = "UseTheLakeKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.lake.arn]
  }

  statement {
    sid       = "WriteDeliveryLogs"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:*"]
  }
}

resource "aws_cloudwatch_log_group" "firehose" {
  name              = "/aws/kinesisfirehose/${local.prefix}-deliveries"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.lake.arn
}

resource "aws_cloudwatch_log_stream" "raw" {
  name           = "raw"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

resource "aws_cloudwatch_log_stream" "cleaned" {
  for_each = local.cleaned_tables

  name           = "cleaned-${each.key}"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

# --- raw ------------------------------------------------------------------------------------

resource "aws_iam_role" "firehose_raw" {
  name               = "${local.raw_delivery_name}-firehose-role"
  assume_role_policy = data.aws_iam_policy_document.firehose_assume.json
}

data "aws_iam_policy_document" "firehose_raw" {
  source_policy_documents = [data.aws_iam_policy_document.firehose_common.json]

  statement {
    sid     = "WriteRawAndItsErrors"
    actions = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
    resources = [
      "${aws_s3_bucket.lake.arn}/${local.raw_prefix}*",
      "${aws_s3_bucket.lake.arn}/errors/raw/*",
    ]
  }

  statement {
    sid     = "InvokeTheRawProcessor"
    actions = ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"]
    resources = [
      aws_lambda_function.processor["raw_beers"].arn,
      "${aws_lambda_function.processor["raw_beers"].arn}:*",
    ]
  }
}

resource "aws_iam_role_policy" "firehose_raw" {
  name   = "raw-delivery"
  role   = aws_iam_role.firehose_raw.id
  policy = data.aws_iam_policy_document.firehose_raw.json
}

resource "aws_kinesis_firehose_delivery_stream" "raw" {
  # checkov:skip=CKV_AWS_240:Firehose server-side encryption applies to Direct PUT sources only; this one reads a stream encrypted with the lake key and writes SSE-KMS objects.
  # checkov:skip=CKV_AWS_241:Same as CKV_AWS_240: no Firehose-side encryption setting exists for a Kinesis source; the stream and the bucket use the customer-managed key.
  name        = local.raw_delivery_name
  destination = "extended_s3"

  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.beers.arn
    role_arn           = aws_iam_role.firehose_raw.arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose_raw.arn
    bucket_arn          = aws_s3_bucket.lake.arn
    prefix              = "${local.raw_prefix}!{timestamp:yyyy/MM/dd/HH}/"
    error_output_prefix = "errors/raw/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
    compression_format  = "GZIP"
    file_extension      = ".jsonl.gz"
    buffering_interval  = var.raw_buffer_seconds
    buffering_size      = 5
    kms_key_arn         = aws_kms_key.lake.arn

    # The processor wraps each record in the raw line of the local lake ({"seq", "partition_key",
    # "arrived_at", "payload"} plus a newline), so raw/ reads the same whoever delivered it.
    processing_configuration {
      enabled = true

      processors {
        type = "Lambda"

        parameters {
          parameter_name  = "LambdaArn"
          parameter_value = "${aws_lambda_function.processor["raw_beers"].arn}:$LATEST"
        }

        parameters {
          parameter_name  = "BufferSizeInMBs"
          parameter_value = "1"
        }

        parameters {
          parameter_name  = "BufferIntervalInSeconds"
          parameter_value = "60"
        }
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.raw.name
    }
  }

  depends_on = [aws_iam_role_policy.firehose_raw]
}

# --- cleaned --------------------------------------------------------------------------------

resource "aws_iam_role" "firehose_cleaned" {
  name               = "${local.prefix}-cleaned-firehose-role"
  assume_role_policy = data.aws_iam_policy_document.firehose_assume.json
}

data "aws_iam_policy_document" "firehose_cleaned" {
  source_policy_documents = [data.aws_iam_policy_document.firehose_common.json]

  statement {
    sid     = "WriteCleanedAndItsErrors"
    actions = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
    resources = [
      "${aws_s3_bucket.lake.arn}/${local.cleaned_prefix}*",
      "${aws_s3_bucket.lake.arn}/errors/cleaned/*",
    ]
  }

  statement {
    sid       = "InvokeTheProcessors"
    actions   = ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"]
    resources = flatten([for table in local.cleaned_tables : [aws_lambda_function.processor[table].arn, "${aws_lambda_function.processor[table].arn}:*"]])
  }

  statement {
    sid     = "ReadTheTableSchemas"
    actions = ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"]
    resources = concat(
      [
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
        aws_glue_catalog_database.lake.arn,
      ],
      [for table in values(local.glue_cleaned_tables) : table.arn],
    )
  }
}

resource "aws_iam_role_policy" "firehose_cleaned" {
  name   = "cleaned-delivery"
  role   = aws_iam_role.firehose_cleaned.id
  policy = data.aws_iam_policy_document.firehose_cleaned.json
}

resource "aws_kinesis_firehose_delivery_stream" "cleaned" {
  # checkov:skip=CKV_AWS_240:Firehose server-side encryption applies to Direct PUT sources only; this one reads a stream encrypted with the lake key and writes SSE-KMS objects.
  # checkov:skip=CKV_AWS_241:Same as CKV_AWS_240: no Firehose-side encryption setting exists for a Kinesis source; the stream and the bucket use the customer-managed key.
  for_each = local.cleaned_tables

  name        = "${local.prefix}-cleaned-${replace(each.key, "_", "-")}"
  destination = "extended_s3"

  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.beers.arn
    role_arn           = aws_iam_role.firehose_cleaned.arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose_cleaned.arn
    bucket_arn          = aws_s3_bucket.lake.arn
    prefix              = "${local.cleaned_prefix}${each.key}/ingest_date=!{timestamp:yyyy-MM-dd}/"
    error_output_prefix = "errors/cleaned/${each.key}/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/"
    file_extension      = ".parquet"
    # Parquet conversion requires a buffer of at least 64 MB; at the default rate the interval
    # decides when a file is written.
    buffering_size     = 64
    buffering_interval = var.cleaned_buffer_seconds
    kms_key_arn        = aws_kms_key.lake.arn

    processing_configuration {
      enabled = true

      processors {
        type = "Lambda"

        parameters {
          parameter_name  = "LambdaArn"
          parameter_value = "${aws_lambda_function.processor[each.key].arn}:$LATEST"
        }

        # 1 MB batches keep every response far below Lambda's 6 MB limit even when a beer
        # expands into many hop rows; the handler also enforces the limit itself.
        parameters {
          parameter_name  = "BufferSizeInMBs"
          parameter_value = "1"
        }

        parameters {
          parameter_name  = "BufferIntervalInSeconds"
          parameter_value = "60"
        }
      }
    }

    data_format_conversion_configuration {
      input_format_configuration {
        deserializer {
          open_x_json_ser_de {}
        }
      }

      output_format_configuration {
        serializer {
          parquet_ser_de {
            compression = "SNAPPY"
          }
        }
      }

      schema_configuration {
        database_name = aws_glue_catalog_database.lake.name
        table_name    = local.glue_cleaned_tables[each.key].name
        role_arn      = aws_iam_role.firehose_cleaned.arn
        region        = local.region
        catalog_id    = local.account_id
        version_id    = "LATEST"
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.cleaned[each.key].name
    }
  }

  depends_on = [aws_iam_role_policy.firehose_cleaned]
}
