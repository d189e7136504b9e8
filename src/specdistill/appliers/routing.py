"""Intelligence-pillar appliers: routing map entries and per-model params."""

from __future__ import annotations

from collections.abc import Callable

from tomlkit.toml_document import TOMLDocument

from specdistill.appliers.base import FileEditApplier
from specdistill.appliers.toml_doc import dump_and_keep, ensure_table, parse_document, set_value
from specdistill.changeset import FileChange
from specdistill.context import ApplyContext
from specdistill.errors import InvalidEdit
from specdistill.fsio import read_bytes_or_none
from specdistill.models import Edit, EditOp
from specdistill.payloads import Payload, SetModelForQueryClass, SetModelParam, check_param_value

POLICY_MAP = ("learning", "routing", "policy_map")


def config_change(
    ctx: ApplyContext, edit: Edit, mutate: Callable[[TOMLDocument], None]
) -> list[FileChange]:
    """Parse config.toml, let ``mutate(doc)`` edit it, and return the one FileChange.

    The document comes from (and goes back to) the parse cache, keyed by bytes:
    if ``mutate`` refuses the edit half-way, the document is dropped, never kept.
    """
    path = ctx.spec_home.config_path
    before = read_bytes_or_none(path)
    doc = parse_document(before, label="config.toml", edit_id=edit.id)
    mutate(doc)
    return [FileChange(path, before, dump_and_keep(doc))]


class SetModelForQueryClassApplier(FileEditApplier):
    """``[learning.routing.policy_map] <query_class> = "<model>"``."""

    op = EditOp.SET_MODEL_FOR_QUERY_CLASS

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, SetModelForQueryClass)

        def mutate(doc: TOMLDocument) -> None:
            table = ensure_table(doc, POLICY_MAP, label="config.toml", edit_id=edit.id)
            set_value(
                table,
                payload.query_class,
                payload.model,
                label=f"learning.routing.policy_map.{payload.query_class}",
                edit_id=edit.id,
            )

        return config_change(ctx, edit, mutate)


class SetModelParamApplier(FileEditApplier):
    """``[models."<model>"] <param> = <value>``, range-checked for well-known params."""

    op = EditOp.SET_MODEL_PARAM

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, SetModelParam)
        problem = check_param_value(payload.param, payload.value)
        if problem:
            raise InvalidEdit(problem, edit_id=edit.id, field="payload.value")

        def mutate(doc: TOMLDocument) -> None:
            keys = ("models", payload.model)
            table = ensure_table(doc, keys, label="config.toml", edit_id=edit.id)
            set_value(
                table,
                payload.param,
                payload.value,
                label=f"models.{payload.model!r}.{payload.param}",
                edit_id=edit.id,
            )

        return config_change(ctx, edit, mutate)
