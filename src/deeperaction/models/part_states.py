"""Part-state models (config -> nn.Module), as ``deeperaction train parts`` configures them (``parts.kind``):
the RoI part-state head of the 1st-place report (:mod:`deeperaction.models.heads.part_state`) or video-level
states of the 2nd-place report (:mod:`deeperaction.models.video_states`). The third kind, the frequency
prior, is no network (:mod:`deeperaction.models.prior`)."""
from __future__ import annotations

from torch import nn

from deeperaction.models.heads.part_state import build_part_state_net
from deeperaction.models.video_states import build_video_state_net

KINDS = ("part_state", "video_states", "prior")


def part_states_from_config(cfg: dict, num_actions: int, weights: str | None = None) -> nn.Module:
    """The network of a ``train parts`` config (or a part-state model file's) of kind ``part_state`` or
    ``video_states``; ``weights``: local path, else ``model.weights``."""
    mc, pc = cfg["model"], cfg["parts"]
    w = weights if weights is not None else mc["weights"]
    if pc["kind"] == "part_state":
        return build_part_state_net(num_actions=num_actions, trunk=mc["name"], weights=w, frozen_bn=mc["frozen_bn"],
                                    layers=pc["layers"], dim=pc["dim"], heads=pc["heads"],
                                    attn_layers=pc["attn_layers"], dropout=mc["dropout"],
                                    action_dropout=pc["action_dropout"], use_action=pc["use_action"])
    if pc["kind"] == "video_states":
        return build_video_state_net(name=mc["name"], weights=w, frozen_bn=mc["frozen_bn"], dropout=mc["dropout"])
    raise ValueError(f"parts.kind {pc['kind']!r} has no network; networks: part_state, video_states")
