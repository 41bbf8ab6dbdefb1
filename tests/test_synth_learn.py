"""Learnability: tiny linear classifiers on GT keypoint sequences of held-out synthetic videos predict the
action and the part states far above chance, and states need motion (a window beats a single frame)."""
from __future__ import annotations

import numpy as np
import pytest

from deeperaction.kinematics.vocab import PART_STATES
from deeperaction.schema import JOINT_INDEX, PARTS
from deeperaction.synth import ACTION_NAMES, assign_splits, ground_truth, make_spec

N, SEED = 112, 123


@pytest.fixture(scope="module")
def data():
    labs = [ground_truth(make_spec("tps", i, SEED, size=(160, 120), duration=(3.0, 4.0))) for i in range(N)]
    train = np.array([s == "training" for s in assign_splits(N, SEED)])
    return labs, train


def normalized(kp: np.ndarray) -> np.ndarray:
    """Keypoints relative to the hip centre, in torso lengths: ``(T, J, 2)``."""
    xy = kp[..., :2]
    neck, hip = xy[:, JOINT_INDEX["neck"]], 0.5 * (xy[:, JOINT_INDEX["left_hip"]] + xy[:, JOINT_INDEX["right_hip"]])
    return (xy - hip[:, None]) / np.median(np.linalg.norm(neck - hip, axis=-1))


def ridge_fit(X: np.ndarray, y: np.ndarray, k: int, lam: float = 1.0):
    """Class-balanced one-vs-rest ridge classifier (closed form, deterministic)."""
    mu, sd = X.mean(0), X.std(0) + 1e-6
    Z = np.c_[(X - mu) / sd, np.ones(len(X))]
    cnt = np.bincount(y, minlength=k).astype(float)
    w = 1.0 / cnt[y]
    Y = np.eye(k)[y] * 2 - 1
    A = (Z * w[:, None]).T @ Z + lam * np.eye(Z.shape[1]) / len(X)
    W = np.linalg.solve(A, (Z * w[:, None]).T @ Y)
    return lambda Q: (np.c_[(Q - mu) / sd, np.ones(len(Q))] @ W).argmax(1)


def mlp_states(Xtr: np.ndarray, Str: np.ndarray, Xte: np.ndarray, epochs: int = 150) -> np.ndarray:
    """A small MLP (2 x 64, one softmax head per part, class-balanced loss); predicted state ids (N, 10)."""
    import torch
    torch.manual_seed(0)
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
    xt = torch.tensor((Xtr - mu) / sd, dtype=torch.float32)
    xe = torch.tensor((Xte - mu) / sd, dtype=torch.float32)
    ks = [len(PART_STATES[p]) for p in PARTS]
    net = torch.nn.Sequential(torch.nn.Linear(xt.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                              torch.nn.ReLU(), torch.nn.Linear(64, sum(ks)))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
    ys = torch.tensor(Str, dtype=torch.long)
    weights = [torch.tensor(1.0 / np.maximum(np.bincount(Str[:, j], minlength=k), 1), dtype=torch.float32)
               for j, k in enumerate(ks)]
    cuts = np.cumsum([0] + ks)
    for _ in range(epochs):
        out = net(xt)
        loss = sum(torch.nn.functional.cross_entropy(out[:, cuts[j]:cuts[j + 1]], ys[:, j], weight=weights[j])
                   for j in range(len(ks)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = net(xe)
    return np.stack([out[:, cuts[j]:cuts[j + 1]].argmax(1).numpy() for j in range(len(ks))], 1)


def balanced_accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean([(p[y == c] == c).mean() for c in np.unique(y)]))


def test_action_is_learnable_from_keypoints(data):
    labs, train = data
    F, Y = [], []
    for lab in labs:
        x = normalized(lab.persons[0].keypoints).reshape(lab.n_frames, -1)
        v = np.diff(x, axis=0)
        F.append(np.concatenate([x.mean(0), x.std(0), x.min(0), x.max(0), np.abs(v).mean(0), v.std(0)]))
        Y.append(ACTION_NAMES.index(lab.spec.action))
    F, Y = np.array(F), np.array(Y)
    acc = (ridge_fit(F[train], Y[train], len(ACTION_NAMES))(F[~train]) == Y[~train]).mean()
    assert acc >= 0.6, acc   # chance 1/14


@pytest.mark.usefixtures("torch_one_thread")
def test_part_states_need_a_window_not_a_frame(data):
    labs, train = data
    fps = labs[0].spec.fps
    h = int(round(0.2 * fps))
    offs = np.array([-2 * h, -h, h, 2 * h])
    single, window, S, V = [], [], [], []
    for i, lab in enumerate(labs):
        p = lab.persons[0]
        x = normalized(p.keypoints)
        for t in range(2 * h, lab.n_frames - 2 * h, 3):
            if p.present[t]:
                c = x[t].ravel()
                single.append(c)
                window.append(np.concatenate([c, (x[t + offs] - x[t]).ravel()]))
                S.append(p.states[t])
                V.append(i)
    single, window, S, V = map(np.array, (single, window, S, V))
    tr = train[V]
    res = {}
    for name, X in (("single", single), ("window", window)):
        accs, chance = [], []
        pred = mlp_states(X[tr], S[tr], X[~tr])
        for j, part in enumerate(PARTS):
            y = S[:, j]
            if len(np.unique(y[tr])) < 2 or len(np.unique(y[~tr])) < 2:
                continue
            accs.append(balanced_accuracy(y[~tr], pred[:, j]))
            chance.append(1 / len(np.unique(y[~tr])))
        res[name] = (float(np.mean(accs)), float(np.mean(chance)), len(accs))
    print(res)
    (acc_w, chance, n), (acc_s, _, _) = res["window"], res["single"]
    assert n >= 8, res
    assert acc_w >= chance + 0.25, res      # far above chance
    assert acc_w >= acc_s + 0.15, res       # states need motion
