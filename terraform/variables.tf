variable "project" {
  description = "Name prefix of every resource (lower-case letters, digits and dashes)."
  type        = string
  default     = "punkml"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.project))
    error_message = "project must be 2-20 characters: lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "name_suffix" {
  description = "Suffix that makes global names (S3 buckets) unique; empty means a hash of the account id and region."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[a-z0-9-]{0,12}$", var.name_suffix))
    error_message = "name_suffix must be at most 12 characters: lower-case letters, digits and dashes."
  }
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"
}

variable "tags" {
  description = "Extra tags put on every resource."
  type        = map(string)
  default     = {}
}

variable "punk_api_base_url" {
  description = "Punk API v2 base URL the collector reads, e.g. https://punk.example.org/v2 (a `punkml api serve` reachable from Lambda)."
  type        = string

  validation {
    condition     = can(regex("^https?://[^\\s]+$", var.punk_api_base_url))
    error_message = "punk_api_base_url must be an http(s) URL such as https://punk.example.org/v2."
  }
}

variable "schedule_rate_minutes" {
  description = "How often the collector runs, in minutes."
  type        = number
  default     = 5

  validation {
    condition     = var.schedule_rate_minutes >= 1 && var.schedule_rate_minutes <= 1440
    error_message = "schedule_rate_minutes must be between 1 and 1440."
  }
}

variable "collector_beers_per_run" {
  description = "How many random beers the collector fetches per run."
  type        = number
  default     = 1

  validation {
    condition     = var.collector_beers_per_run >= 1 && var.collector_beers_per_run <= 100
    error_message = "collector_beers_per_run must be between 1 and 100."
  }
}

variable "stream_mode" {
  description = "Kinesis capacity mode: PROVISIONED (cheapest for a trickle, see stream_shard_count) or ON_DEMAND."
  type        = string
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "ON_DEMAND"], var.stream_mode)
    error_message = "stream_mode must be PROVISIONED or ON_DEMAND."
  }
}

variable "stream_shard_count" {
  description = "Shards of the Kinesis stream when stream_mode is PROVISIONED."
  type        = number
  default     = 1

  validation {
    condition     = var.stream_shard_count >= 1 && var.stream_shard_count <= 64
    error_message = "stream_shard_count must be between 1 and 64."
  }
}

variable "stream_retention_hours" {
  description = "How long Kinesis keeps records, in hours (24 is included in the base price)."
  type        = number
  default     = 24

  validation {
    condition     = var.stream_retention_hours >= 24 && var.stream_retention_hours <= 8760
    error_message = "stream_retention_hours must be between 24 and 8760."
  }
}

variable "raw_buffer_seconds" {
  description = "Firehose buffering interval of the raw delivery, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.raw_buffer_seconds >= 60 && var.raw_buffer_seconds <= 900
    error_message = "raw_buffer_seconds must be between 60 and 900."
  }
}

variable "cleaned_buffer_seconds" {
  description = "Firehose buffering interval of the cleaned (Parquet) deliveries, in seconds."
  type        = number
  default     = 900

  validation {
    condition     = var.cleaned_buffer_seconds >= 60 && var.cleaned_buffer_seconds <= 900
    error_message = "cleaned_buffer_seconds must be between 60 and 900."
  }
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "raw_infrequent_access_after_days" {
  description = "Days after which raw objects move to S3 Standard-IA."
  type        = number
  default     = 30
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions are removed."
  type        = number
  default     = 30
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results are removed."
  type        = number
  default     = 7
}

variable "lambda_runtime" {
  description = "Python runtime of the Lambda functions (the packages are built for it: see `make lambda-package`)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.(1[2-9])$", var.lambda_runtime))
    error_message = "lambda_runtime must be python3.12 or newer."
  }
}

variable "lambda_architecture" {
  description = "CPU architecture of the Lambda functions (must match the one the packages were built for)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_package_dir" {
  description = "Directory holding collector.zip and processor.zip built by `make lambda-package`."
  type        = string
  default     = "../build/lambda"
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of each of the 5 functions: caps cost and protects the source from bursts. -1 reserves none (needed on accounts whose concurrency quota is still 10)."
  type        = number
  default     = 2

  validation {
    condition     = var.lambda_reserved_concurrency == -1 || (var.lambda_reserved_concurrency >= 1 && var.lambda_reserved_concurrency <= 100)
    error_message = "lambda_reserved_concurrency must be -1 (none reserved) or between 1 and 100."
  }
}
