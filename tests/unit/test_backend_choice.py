"""One decision picks the local server backend (local.backend.choose); doctor asks it (issue 14).

The Docker SDK and the registry are faked only behind Probe's inputs: the
engine, this project's container, the local image, the registry lookup and
the PostgreSQL binaries.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dbstack import doctor
from dbstack.errors import BackendError, ToolMissing, UsageError
from dbstack.local import backend
from dbstack.local.backend import Choice, Probe, choose, get_backend
from dbstack.settings import from_mapping
from testpaths import ROOT


class FakeProbe(Probe):
    """Probe with the answers given; asks nothing outside."""

    def __init__(
        self,
        settings,
        *,
        engine=(True, ""),
        container=None,
        running=False,
        data=False,
        local=False,
        registry=(True, ""),
        binaries=True,
        pull=False,
    ):
        super().__init__(settings, out=lambda _line: None, pull=pull)
        self.answers = {
            "engine": engine,
            "container": container,
            "running": running,
            "data": data,
            "local": local,
            "registry": registry,
            "binaries": binaries,
        }
        self.asked: list[str] = []

    def engine(self):
        self.asked.append("engine")
        return self.answers["engine"]

    def engine_version(self):
        return "27.0"

    def container(self):
        return self.answers["container"]

    def embedded_running(self):
        return self.answers["running"]

    def embedded_data(self):
        return self.answers["data"]

    def _image(self):
        if self.answers["local"]:
            return "present", ""
        if self.pull:
            return ("present", "") if self.answers["registry"][0] else ("unavailable", "could not be pulled")
        found, why = self.registry_has_image()
        return ("pullable", "") if found else ("unavailable", f"cannot be pulled: {why}")

    def registry_has_image(self):
        self.asked.append("registry")
        return self.answers["registry"]

    def _bindir(self):
        if self.answers["binaries"]:
            return ROOT, None
        return None, ToolMissing("no PostgreSQL server binaries found", "install postgresql")


@pytest.fixture
def settings(tmp_path):
    return from_mapping({"embedded": {"data_dir": str(tmp_path / "pgdata")}}, ROOT)


# --------------------------------------------------------------------------- the decision


def test_auto_prefers_the_server_that_holds_the_data(settings):
    assert choose(FakeProbe(settings, container=object()), "auto").name == "docker"
    assert choose(FakeProbe(settings, running=True, registry=(False, "x")), "auto").name == "embedded"


def test_auto_uses_docker_when_the_image_is_present_or_pullable(settings):
    assert choose(FakeProbe(settings, local=True), "auto") == Choice(
        "docker", "the Docker engine answers and the image is present"
    )
    c = choose(FakeProbe(settings, registry=(True, "")), "auto")
    assert c.name == "docker" and "pullable" in c.why and not c.note


def test_auto_falls_back_to_embedded_and_says_why_once(settings):
    c = choose(FakeProbe(settings, registry=(False, "no such host")), "auto")
    assert c.name == "embedded" and "no such host" in c.why
    assert c.note.startswith("Docker is not usable (") and "using the embedded PostgreSQL in" in c.note
    c = choose(FakeProbe(settings, engine=(False, "the Docker engine does not answer")), "auto")
    assert c.name == "embedded" and "does not answer" in c.note


def test_auto_with_nothing_usable_names_both_reasons(settings):
    c = choose(FakeProbe(settings, engine=(False, "engine down"), binaries=False), "auto")
    assert c.name is None and "Docker: engine down" in c.why and "embedded: no PostgreSQL" in c.why
    assert c.hint == "install postgresql"


def test_commands_that_start_nothing_never_ask_the_registry(settings):
    p = FakeProbe(settings)
    assert choose(p, "auto", start=False).name == "docker" and "registry" not in p.asked
    assert choose(FakeProbe(settings, data=True), "auto", start=False).name == "embedded"


def test_a_backend_named_explicitly_is_used_unless_verified(settings):
    p = FakeProbe(settings, engine=(False, "down"), binaries=False)
    assert choose(p, "docker").name == "docker" and p.asked == []
    assert choose(p, "embedded").name == "embedded"
    assert choose(p, "docker", verify=True).name is None
    assert choose(p, "embedded", verify=True).name is None
    assert choose(FakeProbe(settings), "docker", verify=True).name == "docker"  # pullable is usable
    with pytest.raises(UsageError, match="unknown backend 'podman'"):
        choose(p, "podman")


def test_get_backend_acts_on_the_choice(settings, monkeypatch):
    said = []
    monkeypatch.setattr(backend, "Probe", lambda s, out, pull: FakeProbe(s, registry=(False, "offline"), pull=pull))
    assert get_backend(settings, out=said.append).name == "embedded"
    assert len(said) == 1 and said[0].startswith("Docker is not usable (")
    monkeypatch.setattr(backend, "Probe", lambda s, out, pull: FakeProbe(s, engine=(False, "x"), binaries=False))
    with pytest.raises(BackendError, match="no local server backend works"):
        get_backend(settings, out=said.append)


# --------------------------------------------------------------------------- doctor asks it


def _doctor_lines(settings, monkeypatch, **answers) -> dict[str, object]:
    monkeypatch.setattr(backend, "Probe", lambda s, out, pull: FakeProbe(s, pull=pull, **answers))
    return {c.name: c for c in doctor._server_checks(settings)}


def test_doctor_image_missing_but_pullable_is_not_a_fail(settings, monkeypatch):
    # No PostgreSQL binaries either: Docker with a pullable image is the only way, and it works.
    checks = _doctor_lines(settings, monkeypatch, registry=(True, ""), binaries=False)
    assert checks["docker image"].level == doctor.OK and "the registry has it" in checks["docker image"].detail
    assert checks["local server backend"].level == doctor.OK
    assert checks["local server backend"].detail.startswith("auto → docker")


def test_doctor_fails_when_the_backend_module_finds_nothing_usable(settings, monkeypatch):
    checks = _doctor_lines(settings, monkeypatch, registry=(False, "no such host"), binaries=False)
    assert checks["docker image"].level == doctor.WARN and "no such host" in checks["docker image"].detail
    assert checks["local server backend"].level == doctor.FAIL


def test_doctor_follows_a_forced_backend(settings, monkeypatch):
    forced = from_mapping({"backend": "docker", "embedded": {"data_dir": str(settings.embedded.data_dir)}}, ROOT)
    checks = _doctor_lines(forced, monkeypatch, engine=(False, "engine down"), binaries=True)
    assert checks["local server backend"].level == doctor.FAIL  # binaries do not help: docker is set
    assert "engine down" in checks["local server backend"].detail


def test_the_real_probe_looks_the_image_up_without_pulling(settings):
    pulled = []
    fake_docker = SimpleNamespace(
        image="postgres:18",
        local_image=lambda: None,
        ensure_image=lambda pull: pulled.append(pull),
        client=lambda: SimpleNamespace(images=SimpleNamespace(get_registry_data=lambda image: object())),
    )
    p = Probe(settings, pull=False)
    p._memo["docker"] = fake_docker
    assert p.image() == ("pullable", "") and pulled == []
