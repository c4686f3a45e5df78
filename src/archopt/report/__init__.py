"""Reports on models and runs: ``profile`` (parameters, FLOPs, memory, measured latency)."""

from archopt.report.profile import count_flops, measure_latency, profile, profile_model

__all__ = ["count_flops", "measure_latency", "profile", "profile_model"]
