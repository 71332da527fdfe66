"""AWS backends (Kinesis, S3, Glue) and Lambda handlers built from the same pipeline code."""
