# The Glue catalog: one database, the raw table and one table per cleaned table. Every column list
# comes from glue_columns.tf.json, generated from the Arrow schemas in punkml.pipeline.cleaned
# (`punkml aws glue-columns > terraform/glue_columns.tf.json`; a test fails when stale).
# Partition projection computes the partitions from the S3 layout, so Athena needs no crawler.

resource "aws_glue_catalog_database" "lake" {
  name        = local.glue_database_name
  description = "Punk ML lake: raw beers as received and the cleaned tables"
}

resource "aws_glue_catalog_table" "raw_beers" {
  name          = "raw_beers"
  database_name = aws_glue_catalog_database.lake.name
  description   = "Stream records as received (gzip JSON lines under raw/YYYY/MM/DD/HH/)"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL                        = "TRUE"
    classification                  = "json"
    "compressionType"               = "gzip"
    "projection.enabled"            = "true"
    "projection.hour.type"          = "date"
    "projection.hour.format"        = "yyyy/MM/dd/HH"
    "projection.hour.range"         = "2024/01/01/00,NOW"
    "projection.hour.interval"      = "1"
    "projection.hour.interval.unit" = "HOURS"
    "storage.location.template"     = "s3://${aws_s3_bucket.lake.bucket}/${local.raw_prefix}$${hour}/"
  }

  partition_keys {
    name = "hour"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${aws_s3_bucket.lake.bucket}/${local.raw_prefix}"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters = {
        "ignore.malformed.json" = "true"
      }
    }

    dynamic "columns" {
      for_each = local.glue_raw_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_glue_catalog_table" "cleaned" {
  for_each = local.glue_columns

  name          = each.key
  database_name = aws_glue_catalog_database.lake.name
  description   = "Cleaned ${each.key} (Parquet, one partition per delivery day)"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL                               = "TRUE"
    classification                         = "parquet"
    "parquet.compression"                  = "SNAPPY"
    "projection.enabled"                   = "true"
    "projection.ingest_date.type"          = "date"
    "projection.ingest_date.format"        = "yyyy-MM-dd"
    "projection.ingest_date.range"         = "2024-01-01,NOW"
    "projection.ingest_date.interval"      = "1"
    "projection.ingest_date.interval.unit" = "DAYS"
    "storage.location.template"            = "s3://${aws_s3_bucket.lake.bucket}/${local.cleaned_prefix}${each.key}/ingest_date=$${ingest_date}/"
  }

  # The same Hive layout as the local lake (cleaned/<table>/ingest_date=YYYY-MM-DD/), so the
  # punkml tool reads Firehose's files and its own alike.
  partition_keys {
    name = "ingest_date"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${aws_s3_bucket.lake.bucket}/${local.cleaned_prefix}${each.key}/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    dynamic "columns" {
      for_each = each.value
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}
