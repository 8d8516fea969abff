"""Tasks: the standalone tools' builds (`inv build-migrate`, `inv build-genmigrate`) and `inv atlas-hcl`."""

from __future__ import annotations

from ._task import settings, task


@task(
    help={
        "out": "where to write the zipapp (default: dbstack.standalone.pyz, dist/migrate.pyz)",
        "migrations": "layered migrations directory to embed (default: dbstack.standalone.migrations_dir)",
        "shebang": "interpreter line of the zipapp (default: /usr/bin/env python3)",
    }
)
def build_migrate(c, out=None, migrations=None, shebang=None):
    """Build dist/migrate.pyz: the migrate tool with its migrations and dependencies in one file."""
    from ..standalone.bundle import SHEBANG, build_pyz
    from ..standalone.options import standalone_settings

    s = settings(c)
    st = standalone_settings(s)
    src = s.resolve(migrations) if migrations else st.migrations_dir
    target = s.resolve(out) if out else st.pyz
    try:
        label = src.relative_to(s.root).as_posix()
    except ValueError:
        label = src.name
    r = build_pyz(target, src, st.layers, shebang=shebang or SHEBANG, source_label=label)
    print(
        f"built {target} ({r.size / 1e6:.1f} MB, build {r.build}): {r.files} migration file"
        f"{'s' if r.files != 1 else ''} in {len(r.layers)} layers ({', '.join(r.layers)}) from {label}"
    )
    _bundled_and_pruned(r, "migrate")


def _bundled_and_pruned(r, tool: str) -> None:
    """Say what a zipapp bundles; remove the cache trees of its tool's older builds."""
    from ..standalone import pyz_bootstrap

    print(f"bundled: {', '.join(r.distributions)}")
    # Each build gets its own cache tree when it first runs; older builds' trees go now.
    removed = pyz_bootstrap.prune(pyz_bootstrap.cache_root(), r.build, tool=tool)
    if removed:
        print(
            f"removed {len(removed)} cached older build{'s' if len(removed) != 1 else ''} "
            f"from {pyz_bootstrap.cache_root()}"
        )


@task(
    help={
        "out": "where to write the zipapp (default: genmigrate.pyz beside dbstack.standalone.pyz, dist/genmigrate.pyz)",
        "shebang": "interpreter line of the zipapp (default: /usr/bin/env python3)",
    }
)
def build_genmigrate(c, out=None, shebang=None):
    """Build dist/genmigrate.pyz: the genmigrate tool and its dependencies in one file."""
    from ..standalone.bundle import GENMIGRATE_ENTRY, GENMIGRATE_PARTS, SHEBANG, build_pyz
    from ..standalone.options import standalone_settings

    s = settings(c)
    st = standalone_settings(s)
    target = s.resolve(out) if out else st.pyz.with_name("genmigrate.pyz")
    r = build_pyz(
        target,
        None,
        st.layers,
        shebang=shebang or SHEBANG,
        tool="genmigrate",
        entry=GENMIGRATE_ENTRY,
        parts=GENMIGRATE_PARTS,
    )
    print(
        f"built {target} ({r.size / 1e6:.1f} MB, build {r.build}); run it from the project root "
        f"(it reads {st.schema_dir.name}/ and {st.migrations_dir.name}/ there, or --schema / --out)"
    )
    _bundled_and_pruned(r, "genmigrate")


@task(
    help={
        "check": "only compare: fail when the file differs from what the settings generate",
        "out": "file to write (default: dbstack.standalone.atlas_hcl, manifests/schemas/atlas.hcl)",
    }
)
def atlas_hcl(c, check=False, out=None):
    """Generate manifests/schemas/atlas.hcl (envs local, cluster, cnpg) from the settings."""
    import os

    from ..errors import ConfigError
    from ..settings import load
    from ..standalone.atlas_hcl import project_hcl
    from ..standalone.options import standalone_settings

    s = settings(c)
    path = s.resolve(out) if out else standalone_settings(s).atlas_hcl
    # The committed file holds what the project's files give (DEFAULTS, invoke.yaml,
    # docker-compose.yml), never a value overridden in this shell's environment
    # (INVOKE_DBSTACK_LOCAL_PORT=…) or in invoke's user-level configuration.
    text = project_hcl(load(s.root))
    if project_hcl(s) != text:
        names = sorted(k for k in os.environ if k.startswith("INVOKE_DBSTACK_"))
        where = ", ".join(names) if names else "invoke configuration outside invoke.yaml (e.g. ~/.invoke.yaml, -f)"
        print(
            f"note: {path.name} is generated from the project's files; the override(s) {where} "
            "change this shell's settings but not the file"
        )
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if check:
        if current != text:
            state = "missing" if current is None else "stale"
            raise ConfigError(
                f"{path} is {state}: it does not match what invoke.yaml and the project's files give",
                "run `inv atlas-hcl` and commit the result",
            )
        print(f"ok: {path} matches the settings")
        return
    if current == text:
        print(f"unchanged: {path}")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
