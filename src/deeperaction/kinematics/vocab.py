"""The part-state vocabulary (per Kinetics-TPS part) and the readable rule table that defines each state.

States are decided per frame from a short centred window of 2D keypoints, in torso lengths and degrees, so
they do not depend on the person's size. ``STATE_RULES`` is the single source for docs; the thresholds in
``THRESHOLDS`` are the numbers the rules in :mod:`deeperaction.kinematics.states` use.
"""
from __future__ import annotations

PART_STATES: dict[str, tuple[str, ...]] = {
    "head": ("none", "turn", "nod"),
    "hip": ("none", "bend", "unbend", "twist"),
    "left_arm": ("none", "raise", "lower", "bend", "unbend", "swing"),
    "right_arm": ("none", "raise", "lower", "bend", "unbend", "swing"),
    "left_hand": ("none", "clap", "punch", "wave"),
    "right_hand": ("none", "clap", "punch", "wave"),
    "left_leg": ("none", "kick", "step", "bend", "unbend"),
    "right_leg": ("none", "kick", "step", "bend", "unbend"),
    "left_foot": ("none", "lift", "step_on"),
    "right_foot": ("none", "lift", "step_on"),
}
"""Per part, the states it can take; "none" (index 0) is the default when no rule fires."""

THRESHOLDS: dict[str, float] = {
    "short_window_s": 0.4,     # centred window for monotonic changes: compare t - 0.2 s with t + 0.2 s
    "long_window_s": 0.8,      # centred window for back-and-forth motion (swing, wave, step, nod)
    "smooth_s": 0.12,          # moving-average width applied to keypoints first (jitter)
    "max_gap_s": 0.5,          # missing keypoints are interpolated over gaps up to this long
    "angle_change_deg": 25.0,  # arm raise/lower/bend/unbend, leg bend/unbend
    "swing_range_deg": 20.0,   # arm swing / leg step: range of the limb angle in the long window
    "reversal_ratio": 1.3,     # back-and-forth: total variation >= ratio * range in the long window
    "clap_dist": 0.35,         # clap: hands closer than this (torso lengths) ...
    "clap_range": 0.5,         # ... after being at least this much farther apart in the long window
    "punch_reach": 0.45,       # punch: shoulder-to-wrist distance grows by this (torso lengths)
    "wave_range_deg": 25.0,    # wave: forearm angle range in the long window, hand above the shoulder
    "kick_deg": 30.0,          # kick: thigh angle rises by this ...
    "kick_knee_deg": 130.0,    # ... ending with the knee straighter than this
    "foot_move": 0.2,          # foot lift / step_on: vertical foot motion (torso lengths)
    "head_turn": 0.12,         # head turn: nose moves sideways relative to the ears (torso lengths)
    "head_nod": 0.08,          # head nod: nose moves up/down relative to the ears (torso lengths)
    "trunk_deg": 20.0,         # hip bend/unbend: trunk tilt change (degrees)
    "twist": 0.25,             # hip twist: change of shoulder width minus hip width (torso lengths)
}

STATE_RULES: tuple[tuple[str, str, str], ...] = (
    ("head", "turn", "nose moves sideways relative to the ear midpoint by >= 0.12 torso in 0.4 s"),
    ("head", "nod", "nose moves up/down relative to the ear midpoint by >= 0.08 torso in 0.4 s"),
    ("head", "none", "otherwise"),
    ("hip", "bend", "trunk tilt from vertical (hip centre -> neck) grows by >= 20 deg in 0.4 s"),
    ("hip", "unbend", "trunk tilt from vertical shrinks by >= 20 deg in 0.4 s"),
    ("hip", "twist", "shoulder width minus hip width (x-extent, torso units) changes by >= 0.25 in 0.4 s"),
    ("hip", "none", "otherwise"),
    ("arm", "swing", "upper-arm angle goes back and forth (range >= 20 deg, total variation >= 1.3 x range in"
     " 0.8 s) with the elbow below the shoulder"),
    ("arm", "raise", "upper arm lifts away from the torso axis by >= 25 deg in 0.4 s"),
    ("arm", "lower", "upper arm drops toward the torso axis by >= 25 deg in 0.4 s"),
    ("arm", "bend", "elbow angle closes by >= 25 deg in 0.4 s (if larger than the upper-arm change)"),
    ("arm", "unbend", "elbow angle opens by >= 25 deg in 0.4 s (if larger than the upper-arm change)"),
    ("arm", "none", "otherwise"),
    ("hand", "clap", "hands come within 0.35 torso of each other, having been >= 0.5 torso farther apart"
     " in 0.8 s (both hands)"),
    ("hand", "punch", "shoulder-to-wrist reach grows by >= 0.45 torso in 0.4 s"),
    ("hand", "wave", "hand above the shoulder and forearm angle goes back and forth (range >= 25 deg,"
     " reversal) in 0.8 s"),
    ("hand", "none", "otherwise"),
    ("leg", "kick", "thigh angle from the torso axis rises by >= 30 deg in 0.4 s, knee ending straighter"
     " than 130 deg"),
    ("leg", "step", "thigh angle goes back and forth (range >= 20 deg, reversal) in 0.8 s"),
    ("leg", "bend", "knee angle closes by >= 25 deg in 0.4 s"),
    ("leg", "unbend", "knee angle opens by >= 25 deg in 0.4 s"),
    ("leg", "none", "otherwise"),
    ("foot", "lift", "foot point moves up the image by >= 0.2 torso in 0.4 s"),
    ("foot", "step_on", "foot point moves down the image by >= 0.2 torso in 0.4 s"),
    ("foot", "none", "otherwise"),
)
"""(part kind, state, rule) in priority order: per part the first rule that holds gives the state.
"arm"/"hand"/"leg"/"foot" apply to the left and right part alike; a part whose joints are missing is "none"."""

N_STATES = sum(len(v) for v in PART_STATES.values())
"""Number of (part, state) pairs, "none" included."""
