"""Part-state vocabulary and the kinematic rules that label part states from 2D keypoints (numpy only).

The synthetic generator labels its ground truth with these rules and the parse pipeline applies the very
same rules to estimated poses, so the two agree by construction.
"""
from deeperaction.kinematics.states import part_state_ids, part_states
from deeperaction.kinematics.vocab import PART_STATES, STATE_RULES

__all__ = ["PART_STATES", "STATE_RULES", "part_states", "part_state_ids"]
