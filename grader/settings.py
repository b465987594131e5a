"""Settings: one object read from the environment (prefix ``GRADER_``), shared by the API, the workers and the
CLI."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SecureCookies(StrEnum):
    """When the session cookie carries ``Secure`` (a browser then sends it over https only)."""

    # when the request came over https, as the server or a trusted proxy's X-Forwarded-Proto says
    AUTO = "auto"
    ALWAYS = "always"  # behind a TLS proxy: always, whatever the proxy forwards
    NEVER = "never"  # plain http on a private network only


class GpuMode(StrEnum):
    """Whether a worker's sandbox can have a GPU: probed (``auto``), or declared by whoever runs it."""

    AUTO = "auto"  # probe once on start: Docker's GPU request, or the local machine's /dev/nvidia* nodes
    YES = "yes"  # declared present: no probe (a GPU request Docker cannot serve still fails the job over)
    NO = "no"  # declared absent: gpu-queue jobs are handed back without running


class Settings(BaseSettings):
    """Where the data lives, which broker and sandbox to use, and the service's timing knobs.

    Every field is read from ``GRADER_<NAME>`` (e.g. ``GRADER_DATABASE_URL``); the defaults are the
    embedded mode: a SQLite file under the data dir, no broker (an in-process pool), the best sandbox here.
    """

    model_config = SettingsConfigDict(env_prefix="GRADER_", extra="ignore")

    data_dir: Path = Path(".beras-data")
    database_url: str | None = None
    broker_url: str | None = None
    sandbox: str = "auto"
    # Whether this worker's sandbox can have a GPU (the gpu queue's jobs need one); see GpuMode.
    gpu: GpuMode = GpuMode.AUTO
    assignments_dir: Path = Path("assignments")
    # Earlier offerings' submissions for the similarity check: <this>/<assignment>/<offering>/*.zip; default
    # <data_dir>/similarity-archive.
    similarity_archive: Path | None = None
    reference: Path = Path("reference/beras")

    max_upload_mb: float = Field(20.0, gt=0)
    embedded_workers: int = Field(2, ge=1)
    # A running job renews its lease every lease_s / 4; a job whose lease lapses lost its worker.
    lease_s: float = Field(60.0, gt=0)
    # A queued submission no worker took within this long is sent to the queue again (a broker lost it).
    queued_deadline_s: float = Field(1800.0, gt=0)
    reconcile_every_s: float = Field(15.0, gt=0)
    # Infrastructure errors (the sandbox failed, not the student) are retried this many times in all.
    grade_attempts: int = Field(3, ge=1)
    retry_backoff_s: float = Field(10.0, ge=0)
    # How long a finished grade keeps trying to reach the database before the job is given up.
    db_retry_s: float = Field(120.0, ge=0)
    # Longer than the longest allowed job, so Redis never hands a running task to a second worker.
    visibility_timeout_s: int = Field(7200, gt=0)
    session_days: float = Field(14.0, gt=0)
    # The proxies whose X-Forwarded-Proto and X-Forwarded-For `serve` believes: comma-separated addresses or
    # networks (10.0.0.0/8), or "*" for any; a TLS proxy elsewhere than here must be listed for "auto"
    # cookies.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    secure_cookies: SecureCookies = SecureCookies.AUTO

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        """Every entry an address or a network (uvicorn would silently never match a typo), or just ``*``."""
        entries = [entry.strip() for entry in value.split(",")]
        if entries == ["*"]:
            return "*"
        for entry in entries:
            try:
                ipaddress.ip_network(entry) if "/" in entry else ipaddress.ip_address(entry)
            except ValueError as error:
                raise ValueError(f"{entry!r} is not an IP address or network ({error}); expected "
                                 "comma-separated addresses or networks such as 127.0.0.1,10.0.0.0/8, or * "
                                 "for any") from None
        return ",".join(entries)

    # The API at the deadline (see README, "At the deadline"). Sync routes run in api_threads threads,
    # uploads' checks and storing in upload_threads more (their own queue, in arrival order, so a burst of
    # uploads leaves the other threads and the event loop free). Each thread holds at most one connection at
    # a time, so db_connections covers them all plus the in-process graders, the reconciler and gate threads.
    api_threads: int = Field(40, ge=1)
    upload_threads: int = Field(8, ge=1)
    db_connections: int = Field(60, ge=2)
    # A request that cannot get a database connection within this long is answered 503 with Retry-After.
    db_wait_s: float = Field(5.0, gt=0)
    # An upload's body must arrive within upload_timeout_s, with no pause over upload_idle_s (else 408).
    upload_timeout_s: float = Field(120.0, gt=0)
    upload_idle_s: float = Field(15.0, gt=0)
    # Uploads one student may have in flight in this API process; one more is answered 429 at once.
    uploads_per_student: int = Field(2, ge=1)
    # Request bodies of every route that is not an upload (JSON, page forms); the roster import has its own.
    max_body_kb: int = Field(64, ge=1)
    max_roster_kb: int = Field(2048, ge=1)
    # Failed sign-ins (the login form, POST /api/session, a wrong Bearer token) per client address and per
    # token prefix: sign_in_burst at once, then sign_in_per_s; past that, 429 with Retry-After.
    sign_in_burst: int = Field(10, ge=1)
    sign_in_per_s: float = Field(1.0, gt=0)

    @cached_property
    def database(self) -> str:
        """The database URL: ``GRADER_DATABASE_URL`` or a SQLite file in the data dir."""
        if self.database_url:
            url = self.database_url
            # "postgresql://" means psycopg 3 here, the driver installed with the product.
            if url.startswith("postgresql://"):
                return "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.data_dir / 'grader.db').resolve()}"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def similarity_archive_dir(self) -> Path:
        return self.similarity_archive or self.data_dir / "similarity-archive"

    @property
    def releases_dir(self) -> Path:
        return self.data_dir / "releases"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)

    @property
    def incoming_dir(self) -> Path:
        """Uploads being received: on the blob store's disk, so a stored upload is renamed, never copied."""
        return self.data_dir / "incoming"
