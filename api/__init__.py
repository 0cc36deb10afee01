"""The Falcon app: resources, auth, errors, serialization and the app factory."""
