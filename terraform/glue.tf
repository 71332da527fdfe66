# The Glue catalog: one database. Its tables (raw_beers and one per cleaned table: columns, storage,
# SerDe and partition projection, which computes the partitions from the S3 layout so Athena needs
# no crawler) are in glue_tables.tf.json, generated from the lake schema in
# punkml.pipeline.lake_schema by the same code that registers them with boto3
# (`punkml aws glue-columns > terraform/glue_tables.tf.json`; a test fails when stale).

resource "aws_glue_catalog_database" "lake" {
  name        = local.glue_database_name
  description = "Punk ML lake: raw beers as received and the cleaned tables"
}
