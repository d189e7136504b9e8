"""lora_finetune: part of the vocabulary, never applied by specdistill."""

from __future__ import annotations

from typing import ClassVar

from specdistill.appliers.base import FileEditApplier
from specdistill.changeset import FileChange
from specdistill.context import ApplyContext
from specdistill.models import Edit, EditOp
from specdistill.payloads import Payload


class LoraFinetuneApplier(FileEditApplier):
    """Refuses every edit: fine-tuning a model is a training job, not a spec edit.

    The op is manual-tier, so the execute loop skips it before it gets here;
    this applier answers callers (or tier overrides) that try anyway.
    """

    op = EditOp.LORA_FINETUNE
    refusal: ClassVar[str | None] = (
        "lora_finetune is never applied by specdistill: fine-tuning is a training job; "
        "run it yourself, then route a query class to the new model with "
        "set_model_for_query_class"
    )

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        raise AssertionError("unreachable: refusal is checked first")  # pragma: no cover
