"""Dramatiq broker setup and the pipeline stages: detect_image and aggregate_task."""
