resource "aws_kinesis_stream" "beers" {
  name             = local.stream_name
  shard_count      = var.stream_mode == "PROVISIONED" ? var.stream_shard_count : null
  retention_period = var.stream_retention_hours
  encryption_type  = "KMS"
  kms_key_id       = aws_kms_key.lake.arn

  stream_mode_details {
    stream_mode = var.stream_mode
  }
}
