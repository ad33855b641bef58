"""The face stage's registries, found whatever MMEngine's default scope is.

MMEngine builds from a registry by first switching to the *default scope*
(``mmpretrain`` for this package's configs) and searching that scope's
registry tree. These registries belong to no OpenMMLab tree, so that search
always fails, and MMEngine warns before falling back on the registry itself.
They therefore build from themselves directly: a registered name (or
``'geoconv_mm.Name'``), with no scope search and no warning, from any
default scope or none.
"""

from __future__ import annotations

from typing import Optional

from mmengine.registry import Registry


def build_from_own_registry(
    cfg: dict, registry: Registry, default_args: Optional[dict] = None
):
    """Build ``cfg['type']`` from ``registry`` itself (its ``build_func``).

    Args:
        cfg (dict): ``type`` (a registered name or a class) and the
            constructor's keyword arguments.
        registry (Registry): Where ``type`` is looked up.
        default_args (dict, optional): Keyword arguments ``cfg`` may
            override.

    Raises:
        KeyError: ``type`` is missing or not registered (the message lists
            what is).
    """
    args = dict(default_args or {})
    args.update(cfg)
    args.pop('_scope_', None)
    if 'type' not in args:
        raise KeyError(f'{registry.name} config needs a "type": {cfg}')
    kind = args.pop('type')
    built = kind
    if isinstance(kind, str):
        # Only what this registry holds: MMEngine's own lookup would also
        # import any module or object the name happens to locate.
        scope, name = Registry.split_scope_key(kind)
        own = scope in (None, registry.scope)
        built = registry.module_dict.get(name) if own else None
    if built is None:
        raise KeyError(
            f'{kind!r} is not in the {registry.name} registry; registered: '
            f'{", ".join(sorted(registry.module_dict))}'
        )
    return built(**args)


FACE_DETECTORS = Registry(
    'face detector', scope='geoconv_mm', build_func=build_from_own_registry
)
RECONSTRUCTORS = Registry(
    'face reconstructor',
    scope='geoconv_mm',
    build_func=build_from_own_registry,
)
