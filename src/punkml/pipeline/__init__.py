"""Ingestion: schedule → collector → stream → raw and cleaned delivery → catalog."""
