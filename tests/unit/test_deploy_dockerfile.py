"""The Dockerfile's structure: multi-stage, non-root numeric USER, frozen installs, a small build context."""

from __future__ import annotations

import json
import re
import shlex

from tests.kustomize import DEPLOY, GATEWAY, OVERLAY_MANIFESTS, find


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    instructions = []
    for line in logical.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_is_multistage_with_a_non_root_runtime() -> None:
    instructions = _dockerfile_instructions()
    stages: list[list[tuple[str, str]]] = []
    args: dict[str, str] = {}
    for keyword, rest in instructions:
        if keyword == "FROM":
            stages.append([])
        elif keyword == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            args[name] = default
        if stages:
            stages[-1].append((keyword, rest))
    assert len(stages) >= 2, "expected a builder and a runtime stage"
    builder = [rest for keyword, rest in instructions if keyword == "RUN" and "uv sync" in rest]
    assert builder
    for command in builder:
        assert "--frozen" in command or "--locked" in command
        assert "--no-dev" in command
        assert "--no-group embedded" in command
    runtime = stages[-1]
    assert any(k == "COPY" and "--from=" in rest for k, rest in runtime), "runtime copies the venv from the builder"
    assert not any(k == "RUN" and "uv " in rest for k, rest in runtime), "no uv in the runtime stage"
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users, "the runtime stage must set USER"
    user = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], users[-1])
    uid = user.split(":")[0]
    assert uid.isdigit(), "numeric USER, so runAsNonRoot can be verified"
    assert int(uid) != 0
    pod_security = find(OVERLAY_MANIFESTS, "Deployment", GATEWAY)["spec"]["template"]["spec"]["securityContext"]
    assert int(uid) == pod_security["runAsUser"], "the manifests run as the image's user"
    (cmd,) = [rest for keyword, rest in runtime if keyword == "CMD"]
    assert json.loads(cmd) == ["python", "-m", "acx_gateway"], "exec-form CMD running the gateway"


def test_dockerignore_keeps_the_context_small() -> None:
    patterns = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "allow-list: exclude everything, then re-include the sources"
    included = {p.lstrip("!").rstrip("/") for p in patterns if p.startswith("!")}
    assert {"pyproject.toml", "uv.lock", "README.md", "shared", "services"} <= included
    # Everything the Dockerfile copies from the context is re-included.
    for keyword, rest in _dockerfile_instructions():
        if keyword == "COPY" and "--from=" not in rest:
            sources = shlex.split(rest)[:-1]
            assert {s.rstrip("/") for s in sources} <= included, rest
    # ... and so is everything its RUN steps bind-mount from the context.
    for keyword, rest in _dockerfile_instructions():
        if keyword == "RUN":
            for source in re.findall(r"--mount=type=bind,source=([^,\s]+)", rest):
                assert source in included, rest


def _global_args() -> dict[str, str]:
    """ARGs declared before the first FROM, with their defaults."""
    args: dict[str, str] = {}
    for keyword, rest in _dockerfile_instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
    return args


def test_base_images_are_build_arguments_defaulting_to_the_public_ones() -> None:
    args = _global_args()
    assert args["BASE_IMAGE"] == "python:3.11-slim-bookworm"
    assert args["UV_IMAGE"] == "ghcr.io/astral-sh/uv:${UV_VERSION}"
    assert args["UV_SOURCE"] == "image", "by default uv comes from its image; make image IMAGE_BASE=local picks pypi"
    froms = [rest.split() for keyword, rest in _dockerfile_instructions() if keyword == "FROM"]
    stages = {parts[-1]: parts[0] for parts in froms if len(parts) == 3 and parts[1].upper() == "AS"}
    # Builder and runtime share one base: the venv's python links to that base's interpreter.
    assert stages["builder"] == stages["runtime"] == "${BASE_IMAGE}"
    assert stages["uv-image"] == "${UV_IMAGE}"
    assert stages["uv-pypi"] == "${BASE_IMAGE}"
    assert stages["uv"] == "uv-${UV_SOURCE}", "UV_SOURCE selects one of the two uv stages"
    assert {f"uv-{source}" for source in ("image", "pypi")} <= set(stages)
    # Nothing uses a base that is not a build argument or an earlier stage.
    for name, base in stages.items():
        assert base.startswith("${") or base == "uv-${UV_SOURCE}" or base in stages, name


def test_uv_from_pypi_is_the_pinned_version() -> None:
    args = _global_args()
    assert re.fullmatch(r"\d+\.\d+\.\d+", args["UV_VERSION"])
    pypi = next(rest for keyword, rest in _dockerfile_instructions() if keyword == "RUN" and "pip install" in rest)
    assert '"uv==${UV_VERSION}"' in pypi
