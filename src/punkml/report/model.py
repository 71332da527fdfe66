"""What the report shows about the promoted model (placeholder until the registry lands)."""

from __future__ import annotations

from dataclasses import dataclass, field

from punkml.config import Settings
from punkml.report import html as h
from punkml.report.data import ReportData


@dataclass
class ModelReport:
    version: str | None = None
    missing: list[str] = field(default_factory=list)


def load_model_report(settings: Settings, data: ReportData) -> ModelReport:
    return ModelReport(missing=["no promoted model: run `punkml train`"])


def model_sections(model: ModelReport) -> list[h.Section]:
    return [h.Section("model", "IBU model", h.notice("No promoted model: run `punkml train`."))]
