# One customer-managed key encrypts everything at rest: the stream, the lake, the logs, the
# dead-letter queue and the functions' environment. Roles get use of it through their own IAM
# policies; the key policy only delegates to IAM and lets CloudWatch Logs use it for our groups.
data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key only; the root statement is AWS's default delegation to IAM, without which the key becomes unmanageable.
  # checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key only; CloudWatch Logs is further limited to our log groups by the encryption-context condition.
  # checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key only (a key policy cannot name the key's own ARN before it exists).
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncryptsOurLogGroups"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["${local.log_group_arn_prefix}:/aws/*/${local.prefix}-*"]
    }
  }
}

resource "aws_kms_key" "lake" {
  description             = "${local.prefix}: stream, lake, logs and queue encryption"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "lake" {
  name          = "alias/${local.prefix}"
  target_key_id = aws_kms_key.lake.key_id
}
