# EventBridge runs the collector every `schedule_rate_minutes`.
resource "aws_cloudwatch_event_rule" "collect" {
  name                = "${local.collector_name}-schedule"
  description         = "Run the Punk ML collector every ${var.schedule_rate_minutes} minute(s)"
  schedule_expression = var.schedule_rate_minutes == 1 ? "rate(1 minute)" : "rate(${var.schedule_rate_minutes} minutes)"
}

resource "aws_cloudwatch_event_target" "collect" {
  rule = aws_cloudwatch_event_rule.collect.name
  arn  = aws_lambda_function.collector.arn

  retry_policy {
    # A run that cannot start within one period is superseded by the next one.
    maximum_event_age_in_seconds = var.schedule_rate_minutes * 60
    maximum_retry_attempts       = 2
  }
}

resource "aws_lambda_permission" "collect_from_schedule" {
  statement_id  = "AllowScheduleToInvokeCollector"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.collector.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.collect.arn
}
