"""The registry of appliers, keyed by op, and the entry-point hook for plug-ins."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points

from specdistill.appliers.base import EditApplier
from specdistill.errors import ConfigError
from specdistill.models import EditOp
from specdistill.payloads import DECLARATIONS

logger = logging.getLogger(__name__)

#: Installed packages add or replace appliers through this entry-point group.
#: Each entry point names an EditApplier subclass (or instance) whose ``op``
#: is an EditOp value, e.g. in the plug-in's pyproject.toml:
#:
#:     [project.entry-points."specdistill.appliers"]
#:     edit_tool_description = "my_pkg.appliers:StrictDescriptionApplier"
ENTRY_POINT_GROUP = "specdistill.appliers"


class EditApplierRegistry:
    """Appliers keyed by op. Refuses a second applier for an op unless ``replace=True``."""

    def __init__(self) -> None:
        self._appliers: dict[EditOp, EditApplier] = {}

    def register(self, applier: EditApplier, *, replace: bool = False) -> None:
        op = EditOp(applier.op)
        if op in self._appliers and not replace:
            raise ValueError(
                f"an applier for {op.value} is already registered "
                f"({type(self._appliers[op]).__name__}); pass replace=True to replace it"
            )
        self._appliers[op] = applier

    def unregister(self, op: EditOp) -> None:
        self._appliers.pop(op, None)

    def is_supported(self, op: EditOp) -> bool:
        return op in self._appliers

    def get(self, op: EditOp) -> EditApplier:
        try:
            return self._appliers[op]
        except KeyError:
            raise KeyError(f"no applier registered for op {EditOp(op).value}") from None

    def ops(self) -> list[EditOp]:
        return list(self._appliers)

    def __iter__(self) -> Iterator[EditApplier]:
        return iter(self._appliers.values())

    def __len__(self) -> int:
        return len(self._appliers)


def builtin_appliers() -> list[EditApplier]:
    """One instance of every built-in applier, in EditOp order, as the op declarations name them.

    A declaration names its applier as ``"module:Class"``, the way a plug-in's entry
    point does, so the declarations need not import the appliers that implement them.
    """
    appliers = []
    for declaration in DECLARATIONS:
        applier = load_applier(EntryPoint(declaration.op.value, declaration.applier, "builtin"))
        if applier.op != declaration.op:
            raise TypeError(f"{declaration.applier} applies {applier.op}, not {declaration.op}")
        appliers.append(applier)
    return appliers


def load_applier(entry_point: EntryPoint) -> EditApplier:
    """The applier an entry point names: an EditApplier instance, or a class to instantiate."""
    obj = entry_point.load()
    applier = obj() if isinstance(obj, type) else obj
    if not isinstance(applier, EditApplier):
        raise TypeError(f"{entry_point.value} is not an EditApplier")
    return applier


def load_entry_point_appliers(registry: EditApplierRegistry) -> list[str]:
    """Add (or replace) appliers from installed plug-ins; return the entry points loaded."""
    loaded = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            applier = load_applier(ep)
            EditOp(applier.op)
        except Exception as exc:
            raise ConfigError(
                f"plug-in applier {ep.name!r} ({ep.value}) could not be loaded: {exc}",
                hint="fix or uninstall the package that provides it",
            ) from exc
        registry.register(applier, replace=True)
        logger.info("applier for %s provided by plug-in %s", applier.op, ep.value)
        loaded.append(ep.name)
    return loaded


def default_registry(*, plugins: bool = True) -> EditApplierRegistry:
    """A new registry holding every built-in applier, then any plug-in ones."""
    registry = EditApplierRegistry()
    for applier in builtin_appliers():
        registry.register(applier)
    if plugins:
        load_entry_point_appliers(registry)
    return registry
