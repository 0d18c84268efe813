"""Reverse ETL: a reference consumer of the enforcement sync table (see consumer.py)."""
