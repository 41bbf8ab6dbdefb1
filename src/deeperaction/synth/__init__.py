"""Procedural human-action videos with exact ground truth for part parsing (Kinetics-TPS), spatio-temporal
detection (MultiSports/AVA) and temporal localization (ActivityNet/FineAction).

``generate(out, videos=N, seed=S, task=...)`` writes a dataset; ``render_video(spec)`` and
``ground_truth(spec)`` give frames and labels in memory (specs from ``make_spec``).
"""
from deeperaction.synth.generate import GENERATOR_VERSION, generate
from deeperaction.synth.layouts import TASKS, VideoSpec, assign_splits, make_spec
from deeperaction.synth.motions import ACTION_NAMES, ACTIONS
from deeperaction.synth.scenes import PRESETS
from deeperaction.synth.video import PersonTrack, Scene, VideoLabels, ground_truth, render_video

__all__ = ["generate", "make_spec", "render_video", "ground_truth", "Scene", "VideoSpec", "VideoLabels",
           "PersonTrack", "ACTION_NAMES", "ACTIONS", "PRESETS", "TASKS", "assign_splits", "GENERATOR_VERSION"]
