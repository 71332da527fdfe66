# A workgroup whose results land encrypted under athena-results/ and expire with the lifecycle.
resource "aws_athena_workgroup" "lake" {
  name          = local.athena_workgroup
  description   = "Query the Punk ML lake"
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    # Guard against runaway scans: 1 GB per query is thousands of times the lake's size.
    bytes_scanned_cutoff_per_query = 1073741824

    result_configuration {
      output_location = "s3://${aws_s3_bucket.lake.bucket}/${local.athena_result_prefix}"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.lake.arn
      }
    }
  }
}
