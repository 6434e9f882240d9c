"""Compute functions: GeoDataFrames in, DataFrames/GeoDataFrames out; no paths, prints or globals."""

from .indicators import layer_shares

__all__ = ["layer_shares"]
