"""Metadata in PostgreSQL (Peewee) and image files on disk. Knows nothing of HTTP or queues."""
