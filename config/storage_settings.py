"""Builds the STORAGES setting, shared by settings.py and the test suite's local S3 endpoint."""

from __future__ import annotations

from typing import Any


def s3_storages(
    *,
    bucket: str,
    endpoint_url: str | None,
    region: str,
    access_key: str | None,
    secret_key: str | None,
    public_url: str | None,
    signed_seconds: int,
    static_backend: str,
) -> dict[str, Any]:
    common = {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url,
        "region_name": region,
        "access_key": access_key,
        "secret_key": secret_key,
        "file_overwrite": True,
        "addressing_style": "path" if endpoint_url else None,
    }
    return {
        # Derivatives (thumbnails, atlases) are public and cacheable: their keys change when content does.
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **common,
                "location": "public",
                "querystring_auth": False,
                "custom_domain": public_url,
                "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
            },
        },
        # Originals, checkpoints and vectors are private: reachable through signed URLs only.
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **common,
                "location": "private",
                "querystring_auth": True,
                "querystring_expire": signed_seconds,
                # No canned ACL: buckets with "bucket owner enforced" (the AWS default) refuse them;
                # the bucket policy keeps this prefix private.
                "default_acl": None,
            },
        },
        "staticfiles": {"BACKEND": static_backend},
    }


def local_storages(*, media_root: str, media_url: str, static_backend: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": f"{media_root}/public", "base_url": f"{media_url}public/"},
        },
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": f"{media_root}/private", "base_url": None},
        },
        "staticfiles": {"BACKEND": static_backend},
    }
