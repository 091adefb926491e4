"""config.toml -> typed Settings, with errors that name the file, the key and what is expected.

Secrets never live in the file: a value may reference an environment variable as ${NAME};
`expand_env` resolves it at the moment of use, so an unset variable only matters for the
source or destination that needs it.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.config import SourceConfig

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.toml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SettingsError(ValueError):
    pass


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuditSection(_Section):
    force_name: str = "Sample Constabulary"
    data_dir: str = Field("data", description="Working folder for the store, outputs and logs")
    timezone: str = "Europe/London"
    late_lookback_months: int = Field(24, ge=0, le=120, description=(
        "How far back a run reports findings of earlier months that cite an entry first seen (or "
        "materially changed) since the previous run"))
    deletion_guard_percent: float = Field(10.0, ge=0, le=100, description=(
        "A source that lost more than this share of the entries earlier runs saw is not read as "
        "deleting them (a failed or truncated extract); the run's notes say so"))


class StoreSection(_Section):
    url: str = Field("sqlite:///data/integrity-audit.db",
                     description="SQLAlchemy URL; relative sqlite paths are relative to the config file")


class RulesSection(_Section):
    include_library: bool = Field(True, description="Load the shipped rules/library")
    folders: list[str] = Field(default_factory=list, description="Extra rule folders (the force's own)")
    engine: Literal["durable", "reference"] = "durable"
    disabled: list[str] = Field(default_factory=list, description="Rule names not to run")
    shadow: list[str] = Field(default_factory=list, description="Rule names to run in shadow: their findings "
                              "are stored apart, never queued, reported or exported, until `rules promote`")
    params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="rule name -> {param -> value} overrides")


class EntitiesSection(_Section):
    fuzzy_threshold: float = Field(92.0, ge=0, le=100, description="Score for a strong fuzzy link")
    weak_threshold: float = Field(85.0, ge=0, le=100,
                                  description="Score at which a similar organisation name is reported (never linked)")
    overrides: str | None = Field(None, description="CSV of confirmed / rejected links (default: "
                                  "<data_dir>/entity-overrides.csv, where the web app writes decisions)")


class ScheduleSection(_Section):
    enabled: bool = True
    cron: str = Field("0 2 1 * *", description="minute hour day month weekday")
    timezone: str = "Europe/London"
    misfire_grace_days: int = Field(7, ge=0)


class Destination(_Section):
    name: str
    kind: Literal["folder", "smtp"]
    formats: list[Literal["csv", "xlsx", "json", "html"]] = Field(
        default_factory=lambda: ["csv", "xlsx", "json", "html"])
    pseudonymise: bool = False
    path: str | None = None  # folder
    host: str | None = None  # smtp
    port: int = 587
    starttls: bool = True
    username: str | None = None  # may be ${ENV}
    password: str | None = None  # must be ${ENV}
    sender: str | None = None
    recipients: list[str] = Field(default_factory=list)
    retries: int = Field(3, ge=0)

    @model_validator(mode="after")
    def _check(self) -> "Destination":
        if self.kind == "folder" and not self.path:
            raise ValueError("a folder destination needs path")
        if self.kind == "smtp" and (not self.host or not self.recipients or not self.sender):
            raise ValueError("an smtp destination needs host, sender and recipients")
        if self.password and not _ENV_REF.fullmatch(self.password):
            raise ValueError("password must be an environment reference like ${SMTP_PASSWORD}")
        return self


class ExportsSection(_Section):
    out_dir: str = Field("data/out", description="Where each run's report and exports are kept")
    destinations: list[Destination] = Field(default_factory=list)


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def secure_url(url: str) -> bool:
    """An absolute https URL, or plain http to this machine (a test identity provider)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.fragment:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)


def _check_web_url(url: str, key: str) -> None:
    if not secure_url(url) or urlsplit(url).query:
        raise ValueError(f"{key} must be an https URL without query or fragment, like https://sso.example.org "
                         "(plain http is allowed only for 127.0.0.1 or localhost)")


class OidcSection(_Section):
    """[web.oidc]: optional single sign-on through an OpenID Connect provider (audit.web.oidc)."""

    issuer: str = Field(description="The provider's issuer URL, exactly as its discovery document gives it")
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: str = Field(description="Must be an environment reference like ${OIDC_CLIENT_SECRET}")
    redirect_url: str | None = Field(None, description="Default: this app's /login/oidc/callback")
    username_claim: str = Field("preferred_username", min_length=1)
    scopes: str = "openid profile email"
    button_label: str = Field("single sign-on", min_length=1, max_length=80)

    @model_validator(mode="after")
    def _check(self) -> "OidcSection":
        _check_web_url(self.issuer, "issuer")
        if self.redirect_url is not None:
            _check_web_url(self.redirect_url, "redirect_url")
        if not _ENV_REF.fullmatch(self.client_secret):
            raise ValueError("client_secret must be an environment reference like ${OIDC_CLIENT_SECRET}, "
                             "not the secret itself")
        if "openid" not in self.scopes.split():
            raise ValueError("scopes must include openid")
        return self


class WebSection(_Section):
    host: str = "127.0.0.1"
    port: int = 8000
    session_minutes: int = 30
    oidc: OidcSection | None = Field(None, description="Single sign-on; absent = local accounts only")


class Settings(_Section):
    audit: AuditSection = Field(default_factory=AuditSection)
    store: StoreSection = Field(default_factory=StoreSection)
    sources: list[SourceConfig] = Field(default_factory=list)
    rules: RulesSection = Field(default_factory=RulesSection)
    entities: EntitiesSection = Field(default_factory=EntitiesSection)
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    exports: ExportsSection = Field(default_factory=ExportsSection)
    web: WebSection = Field(default_factory=WebSection)
    config_path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _unique_sources(self) -> "Settings":
        seen: set[str] = set()
        for s in self.sources:
            if s.name in seen:
                raise ValueError(f"source name {s.name!r} is used twice")
            seen.add(s.name)
        return self

    @property
    def base_dir(self) -> Path:
        return self.config_path.parent if self.config_path else Path.cwd()

    def resolve_path(self, p: str | Path) -> Path:
        path = Path(p).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)

    @property
    def data_dir(self) -> Path:
        return self.resolve_path(self.audit.data_dir)

    @property
    def overrides_file(self) -> Path:
        """The entity overrides CSV: [entities] overrides, else data/entity-overrides.csv (where the
        web app records an analyst's decision on a link)."""
        return self.resolve_path(self.entities.overrides) if self.entities.overrides \
            else self.data_dir / "entity-overrides.csv"

    @property
    def rule_folders(self) -> list[Path]:
        """Where the rules are: the shipped library (unless [rules] include_library = false), then the
        force's [rules] folders."""
        from rules.api import LIBRARY

        return ([LIBRARY] if self.rules.include_library else []) + [self.resolve_path(f) for f in self.rules.folders]

    @property
    def overrides_in_force(self) -> Path | None:
        """The overrides file entity resolution reads: the configured one (a missing one is an error),
        else the default one once a decision has been recorded there."""
        path = self.overrides_file
        return path if self.entities.overrides or path.exists() else None

    @property
    def store_url(self) -> str:
        """The store URL with env references expanded and relative sqlite paths anchored."""
        url = expand_env(self.store.url, "store.url")
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str(self.resolve_path(url[len(prefix):]))
        return url


def expand_env(value: str, key: str = "value") -> str:
    """Replace ${NAME} with the environment variable NAME, or fail saying which key needs it."""

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise SettingsError(f"{key} refers to ${{{name}}} but the environment variable {name} is not set")
        return os.environ[name]

    return _ENV_REF.sub(sub, value)


def _describe(err: dict) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key"
    return f"{loc}: {err['msg']}" + (f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else "")


def load(path: str | Path | None = None) -> Settings:
    """Load and validate a config file (default: the embedded config.toml)."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{path}: not valid TOML: {e}") from None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        problems = "\n  ".join(_describe(err) for err in e.errors())
        raise SettingsError(f"{path}: {len(e.errors())} problem(s):\n  {problems}") from None
    settings.config_path = path.resolve()
    return settings
