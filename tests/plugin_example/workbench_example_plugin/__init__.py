"""An example model plug-in: the default hierarchical model with heavier-tailed effect-modifier scales."""

from __future__ import annotations

from typing import Any

from workbench.models.hierarchical import HierarchicalEffectModel


class ExampleEffectModel(HierarchicalEffectModel):
    """Hierarchical effect model whose modifier scales have a half-Student-t prior.

    Heavier tails than the default Gamma let one strong effect modifier escape shrinkage while the
    rest stay near zero; an example of a plug-in changing priors only, through the config dict.
    """

    name = "example"
    version = "0.1.0"

    @property
    def default_model_config(self) -> dict[str, Any]:
        """The default priors with half-Student-t modifier scales."""
        return super().default_model_config | {"modifier_scale_prior": "half_student_t"}
