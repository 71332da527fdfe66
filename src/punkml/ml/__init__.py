"""The IBU model: features, models, training, evaluation, registry, prediction."""
