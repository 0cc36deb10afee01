"""Settings come from the environment in one place and refuse values the service cannot use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config.settings import Settings, SettingsError, setting_names, without_settings
from service.run import api_command, worker_command
from service.workers import dramatiq_command

ROOT = Path(__file__).resolve().parent.parent


def test_an_empty_environment_gives_the_documented_defaults():
    settings = Settings.from_env({})

    assert settings.database_url == "postgresql://postgres@127.0.0.1:5432/facetasks"
    assert settings.rabbitmq_url == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert (settings.host, settings.port, settings.detector) == ("127.0.0.1", 8080, "local")
    assert settings.max_image_bytes == 10 * 1024 * 1024
    assert settings.worker_threads == 2  # the local model computes under a lock: 2 threads per process
    assert Settings.from_env({"DETECTOR": "facecloud"}).worker_threads == 8
    assert settings.auth_enabled is False


def test_auth_needs_both_a_username_and_a_password():
    assert Settings.from_env({"API_USERNAME": "a"}).auth_enabled is False
    assert Settings.from_env({"API_USERNAME": "a", "API_PASSWORD": "b"}).auth_enabled is True


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "eighty"), ("PORT", "0"), ("WORKER_THREADS", "0"), ("DETECTOR", "cloud"), ("LOG_LEVEL", "loud"),
     ("MAX_IMAGE_BYTES", "-1"), ("LOG_FORMAT", "xml"), ("STORAGE_URL", "s3://"), ("STORAGE_URL", "file:relative"),
     ("STORAGE_URL", "gs://bucket"), ("STORAGE_URL", "/data/images"), ("STORE_ORPHAN_GRACE_S", "0"),
     ("RABBITMQ_CA_FILE", "/no/such/ca.pem")],
)
def test_an_unusable_value_is_refused_with_its_name(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_the_image_store_is_storage_url_or_else_storage_dirs_folder_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert Settings.from_env({}).image_store_url == f"file://{tmp_path}/data/images"
    assert Settings.from_env({"STORAGE_DIR": "pics"}).image_store_url == f"file://{tmp_path}/pics"
    assert Settings.from_env({"STORAGE_URL": "s3://bucket/a/b", "STORAGE_DIR": "pics"}).image_store_url == (
        "s3://bucket/a/b")
    assert Settings.from_env({"STORAGE_URL": "file:///srv/images"}).image_store_url == "file:///srv/images"
    given = Settings.from_env({"S3_ENDPOINT_URL": "http://minio:9000", "RABBITMQ_CA_FILE": __file__})
    assert (given.s3_endpoint_url, given.rabbitmq_ca_file) == ("http://minio:9000", __file__)


def test_passwords_never_appear_in_the_settings_repr():
    settings = Settings.from_env({"API_PASSWORD": "hunter2", "FACECLOUD_PASSWORD": "swordfish"})

    assert "hunter2" not in repr(settings) and "swordfish" not in repr(settings)


def test_the_worker_command_carries_the_configured_concurrency_or_the_detectors_default():
    command = dramatiq_command(Settings.from_env({"WORKER_PROCESSES": "3", "WORKER_THREADS": "5"}))
    local = dramatiq_command(Settings.from_env({"WORKER_PROCESSES": "2"}))
    cloud = dramatiq_command(Settings.from_env({"WORKER_PROCESSES": "2", "DETECTOR": "facecloud"}))

    assert command[1:3] == ["-m", "dramatiq"]
    assert "--processes=3" in command and "--threads=5" in command
    assert command[-1] == "actors.worker:setup"
    assert "--threads=2" in local and "--threads=8" in cloud
    assert worker_command()[1:] == ["-m", "service.workers"]
    assert api_command()[1:] == ["-m", "service.api_server"]


def test_the_environment_a_harness_hands_on_keeps_none_of_the_services_or_its_libraries_settings():
    shell = {"PATH": "/usr/bin", "HOME": "/root", "LOCAL_MIN_SCORE": "0.9", "TASK_WINDOW": "3",
             "WEBHOOK_SECRET": "s", "WEBHOOK_ALLOWED_HOSTS": "a", "STORAGE_URL": "s3://b", "DETECTOR": "local",
             "AWS_REGION": "x", "dramatiq_prom_port": "1", "WORKER_METRICS_PORT": "9",
             "prometheus_multiproc_dir": "/tmp/p", "PORT": "1"}

    assert without_settings(shell) == {"PATH": "/usr/bin", "HOME": "/root"}


def test_every_variable_the_settings_read_is_known_by_name():
    names = setting_names()

    assert {"DATABASE_URL", "RABBITMQ_URL", "STORAGE_DIR", "STORAGE_URL", "TASK_WINDOW", "LOCAL_MIN_SCORE",
            "WEBHOOK_ALLOWED_HOSTS", "RABBITMQ_CA_FILE", "HOUSEKEEPING_INTERVAL_S"} <= names
    assert all(name.isupper() for name in names)


def test_every_setting_is_documented_and_in_the_example_environment_file():
    documented = (ROOT / "docs" / "settings.md").read_text()
    example = (ROOT / ".env.example").read_text()

    assert sorted(name for name in setting_names() if f"`{name}`" not in documented) == []
    assert sorted(name for name in setting_names() if not re.search(rf"^#? ?{name}=", example, re.M)) == []
