"""Tasks: the standalone tools' build (`inv build-migrate`) and the Atlas project file (`inv atlas-hcl`)."""
from __future__ import annotations

from ._task import settings, task


@task(help={
    "out": "where to write the zipapp (default: dbstack.standalone.pyz, dist/migrate.pyz)",
    "migrations": "layered migrations directory to embed (default: dbstack.standalone.migrations_dir)",
    "shebang": "interpreter line of the zipapp (default: /usr/bin/env python3)",
})
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
    print(f"built {target} ({r.size / 1e6:.1f} MB, build {r.build}): {r.files} migration file"
          f"{'s' if r.files != 1 else ''} in {len(r.layers)} layers ({', '.join(r.layers)}) from {label}")
    print(f"bundled: {', '.join(r.distributions)}")


@task(help={
    "check": "only compare: fail when the file differs from what the settings generate",
    "out": "file to write (default: dbstack.standalone.atlas_hcl, manifests/schemas/atlas.hcl)",
})
def atlas_hcl(c, check=False, out=None):
    """Generate manifests/schemas/atlas.hcl (envs local, cluster, cnpg) from the settings."""
    from ..errors import ConfigError
    from ..standalone.atlas_hcl import project_hcl
    from ..standalone.options import standalone_settings

    s = settings(c)
    path = s.resolve(out) if out else standalone_settings(s).atlas_hcl
    text = project_hcl(s)
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if check:
        if current != text:
            state = "missing" if current is None else "stale"
            raise ConfigError(f"{path} is {state}: it does not match the settings",
                              "run `inv atlas-hcl` and commit the result")
        print(f"ok: {path} matches the settings")
        return
    if current == text:
        print(f"unchanged: {path}")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
