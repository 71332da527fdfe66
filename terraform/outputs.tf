output "lake_bucket" {
  description = "S3 bucket of the lake; use `--lake s3://<bucket>` with the punkml tool."
  value       = aws_s3_bucket.lake.bucket
}

output "lake_uri" {
  description = "Lake root URI for `punkml --lake`."
  value       = "s3://${aws_s3_bucket.lake.bucket}"
}

output "raw_prefix" {
  description = "Prefix of the raw records (gzip JSON lines, hourly)."
  value       = "s3://${aws_s3_bucket.lake.bucket}/${local.raw_prefix}"
}

output "cleaned_prefix" {
  description = "Prefix of the cleaned Parquet tables."
  value       = "s3://${aws_s3_bucket.lake.bucket}/${local.cleaned_prefix}"
}

output "stream_name" {
  description = "Kinesis stream; use `--stream kinesis://<name>` with the punkml tool."
  value       = aws_kinesis_stream.beers.name
}

output "stream_uri" {
  description = "Stream URI for `punkml --stream`."
  value       = "kinesis://${aws_kinesis_stream.beers.name}"
}

output "glue_database" {
  description = "Glue database; use `--catalog glue://<database>` with the punkml tool."
  value       = aws_glue_catalog_database.lake.name
}

output "catalog_uri" {
  description = "Catalog URI for `punkml --catalog`."
  value       = "glue://${aws_glue_catalog_database.lake.name}"
}

output "glue_tables" {
  description = "Glue tables of the lake."
  value       = concat([aws_glue_catalog_table.raw_beers.name], [for table in values(local.glue_cleaned_tables) : table.name])
}

output "athena_workgroup" {
  description = "Athena workgroup to query the lake with."
  value       = aws_athena_workgroup.lake.name
}

output "collector_function" {
  description = "Collector Lambda function (invoke it by hand with `aws lambda invoke`)."
  value       = aws_lambda_function.collector.function_name
}

output "processor_functions" {
  description = "Firehose processor Lambda functions by cleaned table."
  value       = { for table, fn in aws_lambda_function.processor : table => fn.function_name }
}

output "raw_delivery_stream" {
  description = "Firehose delivery of the raw records."
  value       = aws_kinesis_firehose_delivery_stream.raw.name
}

output "cleaned_delivery_streams" {
  description = "Firehose deliveries of the cleaned tables by table."
  value       = { for table, ds in aws_kinesis_firehose_delivery_stream.cleaned : table => ds.name }
}

output "collector_dead_letter_queue" {
  description = "SQS queue that keeps the events of collector runs that failed after retries."
  value       = aws_sqs_queue.collector_dlq.url
}

output "kms_key_arn" {
  description = "Customer-managed key encrypting the stream, lake, logs and queue."
  value       = aws_kms_key.lake.arn
}

output "log_groups" {
  description = "CloudWatch log groups."
  value = concat(
    [aws_cloudwatch_log_group.collector.name, aws_cloudwatch_log_group.firehose.name],
    [for group in aws_cloudwatch_log_group.processor : group.name],
  )
}
