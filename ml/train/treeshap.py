"""Exact TreeSHAP contributions of an XGBoost booster, from tables built once per model.

XGBoost's `pred_contribs` runs path-dependent TreeSHAP per row: O(leaves x depth^2) per tree,
about 200 predictions' worth of work per account. The same values can be read from tables:
for a leaf whose root path splits on d distinct features, the Shapley values of the leaf's
term depend on the row only through which of those d features' conditions the row meets (a
d-bit pattern). Per leaf, the values for all 2^d patterns are computed once per model; a row
then costs, per leaf, its pattern (one comparison per split on the path) and a lookup. This is
the precomputation of Fast TreeSHAP v2 (Yang, 2021), vectorised with numpy.

The leaf term and its Shapley values: with `z_m` the product of the cover fractions of the
path's splits on feature m and `o_m` 1 when the row meets all of them (0 otherwise), the leaf
adds `v * prod_{m in S} o_m * prod_{m not in S} z_m` to E[f(x) | x_S]; the Shapley value of
feature j is `v * (o_j - z_j) * sum_k w(k, d) * c_k`, with `c_k` the coefficient of t^k in
`prod_{m != j} (z_m + o_m t)` and `w(k, d) = k! (d - k - 1)! / d!`. Summed over leaves and trees
this is what `pred_contribs` returns (the bias column aside), computed in float64 where XGBoost
uses float32: the two agree to float32 rounding. A row's values depend on that row only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp
    import xgboost as xgb

# Tables hold leaves x 2^depth x depth floats: 2,600 leaves of depth 6 are 8 MB. Deeper trees
# grow them exponentially; past this many entries `build` declines (use `pred_contribs`).
MAX_TABLE_ENTRIES = 20_000_000
_ROWS_PER_CHUNK = 256  # bounds the (leaves x steps x rows) working arrays to some 10 MB


@dataclass(frozen=True)
class _Leaf:
    value: float
    steps: list[tuple[int, bool, int]]  # (split row, goes left, slot of its feature)
    features: list[int]  # distinct features on the path, by slot
    zero_fractions: list[float]  # per slot: product of the cover fractions of its splits


def _trees(booster: xgb.Booster, rounds: int) -> list[dict]:
    model = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]
    if model.get("name") != "gbtree":
        raise ValueError(f"TreeSHAP tables need a gbtree booster, not {model.get('name')!r}")
    trees = model["model"]["trees"]
    bounds = model["model"].get("iteration_indptr") or list(range(len(trees) + 1))
    return trees[: bounds[min(rounds, len(bounds) - 1)]]


def _leaves(tree: dict, offset: int) -> list[_Leaf]:
    """Every leaf of one tree with its root path; node i is split row `offset + i`."""
    if any(tree["split_type"]):
        raise ValueError("TreeSHAP tables do not support categorical splits")
    left, right = tree["left_children"], tree["right_children"]
    feature, cover, value = tree["split_indices"], tree["sum_hessian"], tree["split_conditions"]
    leaves: list[_Leaf] = []
    stack: list[tuple[int, list, list, list]] = [(0, [], [], [])]
    while stack:
        node, steps, features, zeros = stack.pop()
        if left[node] == -1:
            leaves.append(_Leaf(float(value[node]), steps, features, zeros))
            continue
        f = feature[node]
        slot = features.index(f) if f in features else len(features)
        for child, goes_left in ((left[node], True), (right[node], False)):
            if not cover[child] > 0:
                raise ValueError(f"a split with an empty child (node {node}): TreeSHAP is undefined there")
            fraction = cover[child] / cover[node]
            if slot < len(features):  # the feature again: its conditions and fractions multiply
                child_features, child_zeros = features, [*zeros[:slot], zeros[slot] * fraction, *zeros[slot + 1 :]]
            else:
                child_features, child_zeros = [*features, f], [*zeros, fraction]
            stack.append((child, [*steps, (offset + node, goes_left, slot)], child_features, child_zeros))
    return leaves


def _bit(d: int, m: int, value: int) -> tuple:
    """Index of the patterns whose bit m is `value`, in a (leaves, 2, ..., 2, ...) cube whose
    pattern axes run from bit d - 1 down to bit 0 (so the cube flattens to pattern order)."""
    index = [slice(None)] * (d + 2)
    index[1 + (d - 1 - m)] = value
    return tuple(index)


def _shapley_table(values: np.ndarray, zeros: np.ndarray) -> np.ndarray:
    """(leaves, 2^d, d) Shapley values of leaves with d distinct path features, for every pattern
    of met conditions (bit m of the pattern set: the row meets feature m's conditions)."""
    n, d = zeros.shape
    cube = (n, *([2] * d))
    weights = np.array([math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d) for k in range(d)])
    z = zeros.reshape(n, *([1] * d), d)
    # prod_m (z_m + o_m t): coefficients of t^0..t^d, per leaf and pattern.
    product = np.zeros((*cube, d + 1))
    product[..., 0] = 1.0
    for m in range(d):
        grown = product * z[..., m, None]
        grown[_bit(d, m, 1)][..., 1:] += product[_bit(d, m, 1)][..., :-1]
        product = grown
    # Dividing out (z_j + o_j t) and weighting the quotient's coefficients by w collapse into one
    # weighted sum of the product's coefficients: by 1/z_j (o_j = 0), or, when o_j = 1, by
    # u_i = sum_{k < i} w_k (-z_j)^(i-1-k) (synthetic division by t + z_j, folded into the weights).
    table = np.empty((*cube, d))
    for j in range(d):
        off, on = _bit(d, j, 0), _bit(d, j, 1)
        half = (n, *([1] * (d - 1)))  # z_j and values against half the cube (bit j fixed)
        u = np.zeros((n, d + 1))
        for i in range(1, d + 1):
            u[:, i] = weights[i - 1] - zeros[:, j] * u[:, i - 1]
        value, zj = values.reshape(half), zeros[:, j].reshape(half)
        table[off][..., j] = value * (0.0 - zj) * (product[off][..., :d] @ weights) / zj
        table[on][..., j] = value * (1.0 - zj) * np.einsum("n...i,ni->n...", product[on], u)
    return table.reshape(n, 2**d, d)


@dataclass(frozen=True)
class TreeShapTables:
    """What `contributions` reads: every split, every leaf's path and its table."""

    n_features: int
    split_feature: np.ndarray  # (split rows,) feature index (unused for leaf rows)
    split_threshold: np.ndarray  # (split rows,) float32: goes left when value < threshold
    split_default_left: np.ndarray  # (split rows,) where a missing value goes
    step_split: np.ndarray  # (leaves, steps) split row of each path step (0 for padding)
    step_left: np.ndarray  # (leaves, steps, 1) the step goes left
    step_bit: np.ndarray  # (leaves, steps, 1) 1 << slot of the step's feature (0 for padding)
    every_bit: np.ndarray  # (leaves, 1) the pattern of a row that meets every condition
    table: np.ndarray  # (leaves * depth, 2^depth) Shapley values by (leaf, slot) and pattern
    to_features: sp.csr_matrix  # (features, leaves * depth): adds each (leaf, slot) to its feature

    @classmethod
    def build(cls, booster: xgb.Booster, rounds: int) -> TreeShapTables | None:
        """Tables for the first `rounds` boosting rounds (`best_iteration + 1`), or None when
        they would exceed MAX_TABLE_ENTRIES (trees too deep)."""
        features: list[int] = []
        thresholds: list[float] = []
        defaults: list[bool] = []
        leaves: list[_Leaf] = []
        for tree in _trees(booster, rounds):
            offset = len(features)
            features += tree["split_indices"]
            thresholds += tree["split_conditions"]
            defaults += [bool(flag) for flag in tree["default_left"]]
            leaves += [leaf for leaf in _leaves(tree, offset) if leaf.features]  # a lone root leaf: bias only
        depth = max((len(leaf.features) for leaf in leaves), default=1)  # distinct features on a path
        steps = max((len(leaf.steps) for leaf in leaves), default=1)  # splits on a path
        n = len(leaves)
        if n * 2**depth * depth > MAX_TABLE_ENTRIES:
            return None
        step_split = np.zeros((n, steps), dtype=np.int64)
        step_left = np.zeros((n, steps), dtype=bool)
        step_bit = np.zeros((n, steps), dtype=np.uint8 if depth <= 8 else np.int64)
        slot_feature = np.zeros((n, depth), dtype=np.int64)
        for i, leaf in enumerate(leaves):
            for s, (split, goes_left, slot) in enumerate(leaf.steps):
                step_split[i, s], step_left[i, s], step_bit[i, s] = split, goes_left, 1 << slot
            slot_feature[i, : len(leaf.features)] = leaf.features
        table = np.zeros((n, 2**depth, depth))
        for d in range(1, depth + 1):
            of_d = np.array([i for i, leaf in enumerate(leaves) if len(leaf.features) == d], dtype=np.int64)
            if len(of_d):
                values = np.array([leaves[i].value for i in of_d])
                zeros = np.array([leaves[i].zero_fractions for i in of_d])
                table[of_d, : 2**d, :d] = _shapley_table(values, zeros)
        import scipy.sparse as sp  # on use: Dagster's definitions load without it

        n_features = int(booster.num_features())
        to_features = sp.csr_matrix(
            (np.ones(n * depth), (slot_feature.reshape(-1), np.arange(n * depth))), shape=(n_features, n * depth)
        )
        return cls(
            n_features=n_features,
            split_feature=np.array(features, dtype=np.int64),
            split_threshold=np.array(thresholds, dtype=np.float32)[:, None],
            split_default_left=np.array(defaults, dtype=bool)[:, None],
            step_split=step_split,
            step_left=step_left[:, :, None],
            step_bit=step_bit[:, :, None],
            every_bit=np.bitwise_or.reduce(step_bit, axis=1)[:, None],
            table=np.ascontiguousarray(table.transpose(0, 2, 1).reshape(n * depth, 2**depth)),
            to_features=to_features,
        )

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """(rows, features) TreeSHAP values of the rows of a float32 feature matrix (NaN missing),
        in the booster's feature order; the bias term is left out."""
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.n_features:
            raise ValueError(f"expected a (rows, {self.n_features}) matrix, got shape {matrix.shape}")
        leaves, patterns = len(self.step_split), self.table.shape[1]
        depth = self.table.shape[0] // leaves
        # Row (leaf, slot) of the table starts at (leaf * depth + slot) * patterns in its flat view.
        starts = (np.arange(leaves * depth, dtype=np.intp) * patterns).reshape(leaves, depth, 1)
        flat = self.table.reshape(-1)
        out = np.empty((len(matrix), self.n_features))
        for start in range(0, len(matrix), _ROWS_PER_CHUNK):
            columns = np.ascontiguousarray(matrix[start : start + _ROWS_PER_CHUNK].T)  # (features, rows)
            value = columns[self.split_feature]  # (split rows, rows)
            goes_left = np.where(np.isnan(value), self.split_default_left, value < self.split_threshold)
            unmet = self.step_bit * (goes_left[self.step_split] != self.step_left)  # (leaves, steps, rows)
            pattern = self.every_bit ^ np.bitwise_or.reduce(unmet, axis=1)  # (leaves, rows)
            picked = flat.take((starts + pattern[:, None, :]).reshape(leaves * depth, -1))  # (leaves*depth, rows)
            out[start : start + columns.shape[1]] = (self.to_features @ picked).T
        return out
