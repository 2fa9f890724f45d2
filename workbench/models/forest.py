"""Posterior BART forests as plain arrays, so a saved BCF run predicts new patients after reload.

pymc-bart keeps each chain's trees in the fitted op as a *history*: the forest at the first kept
draw, then for every draw the few trees PGBART replaced.  This module copies that history into
arrays (split variable, split value and leaf value per heap-indexed node; which tree sits at which
position after each draw) that go into the run's NetCDF file: no pickles, nothing executable, and
prediction needs only numpy.

A tree node ``i`` has children ``2i+1`` (taken when ``x[var] <= value``) and ``2i+2``; a node with
``var == -1`` is a leaf.  Replaying the history reproduces pymc-bart's own predictions to 1e-15.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

_LEAF = -1
_BARTRS_LEAF = 4294967295  # u32::MAX, bartrs' marker for "no split"


@dataclass(frozen=True)
class ForestHistory:
    """Every tree a BART variable visited, and which trees form its forest at each kept draw.

    Arrays: ``node_var``/``node_value``/``node_leaf`` (all nodes of all distinct trees, concatenated),
    ``tree_start``/``tree_size`` (slice of each distinct tree), ``baseline`` (chain, m) tree ids of
    the forest before the first kept draw, ``update_tree``/``update_pos`` (chain, draw, b): after
    draw d, tree ``update_tree`` sits at position ``update_pos`` (-1 = padding).  Chains follow the
    posterior's chain order.
    """

    node_var: np.ndarray
    node_value: np.ndarray
    node_leaf: np.ndarray
    tree_start: np.ndarray
    tree_size: np.ndarray
    baseline: np.ndarray
    update_tree: np.ndarray
    update_pos: np.ndarray

    @classmethod
    def from_op(cls, op: Any) -> ForestHistory:
        """Copy the history of a fitted pymc-bart op (chains in the op's order)."""
        nodes_var: list[np.ndarray] = []
        nodes_val: list[np.ndarray] = []
        nodes_leaf: list[np.ndarray] = []
        ids: dict[int, int] = {}

        def tree_id(tree: Any) -> int:
            key = id(tree)
            if key not in ids:
                if any(k != 0 for k in bytes(tree.leaf_kind)) or tree.n_outputs != 1:
                    raise NotImplementedError("only constant single-output leaves can be stored")
                var = np.asarray(tree.split_var, dtype=np.int64)
                nodes_var.append(np.where(var == _BARTRS_LEAF, _LEAF, var).astype(np.int32))
                nodes_val.append(np.asarray(tree.split_val, dtype=np.float64))
                nodes_leaf.append(np.asarray(tree.leaf_val, dtype=np.float64))
                ids[key] = len(ids)
            return ids[key]

        history = list(op.all_trees)
        m = len(history[0][0])
        n_draws = len(history[0][1])
        width = max((len(new) for _, batches in history for _, new in batches), default=1)
        baseline = np.zeros((len(history), m), dtype=np.int64)
        update_tree = np.full((len(history), n_draws, width), -1, dtype=np.int64)
        update_pos = np.full((len(history), n_draws, width), -1, dtype=np.int64)
        keep: list[Any] = []  # hold references so id() stays unique while we copy
        for h, (forest, batches) in enumerate(history):
            if len(batches) != n_draws or len(forest) != m:
                raise ValueError("chains of a BART history differ in length")
            keep.extend(forest)
            baseline[h] = [tree_id(t) for t in forest]
            for d, (start, new) in enumerate(batches):
                keep.extend(new)
                for i, t in enumerate(new):
                    update_tree[h, d, i] = tree_id(t)
                    update_pos[h, d, i] = (start + i) % m
        sizes = np.array([len(v) for v in nodes_var], dtype=np.int64)
        return cls(
            node_var=np.concatenate(nodes_var),
            node_value=np.concatenate(nodes_val),
            node_leaf=np.concatenate(nodes_leaf),
            tree_start=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
            tree_size=sizes,
            baseline=baseline,
            update_tree=update_tree,
            update_pos=update_pos,
        )

    def reorder_chains(self, order: np.ndarray) -> ForestHistory:
        """Put history chain ``order[c]`` at position c (parallel chains finish in any order)."""
        return ForestHistory(
            node_var=self.node_var,
            node_value=self.node_value,
            node_leaf=self.node_leaf,
            tree_start=self.tree_start,
            tree_size=self.tree_size,
            baseline=self.baseline[order],
            update_tree=self.update_tree[order],
            update_pos=self.update_pos[order],
        )

    @property
    def n_draws(self) -> int:
        """Kept draws per chain."""
        return int(self.update_tree.shape[1])

    def _tree_predictions(self, X: np.ndarray, trees: np.ndarray) -> np.ndarray:
        """(len(trees), N) leaf value each tree gives each row, all trees walked at once."""
        size = self.tree_size[trees]
        width = int(size.max())
        pos = self.tree_start[trees][:, None] + np.minimum(np.arange(width)[None, :], size[:, None] - 1)
        var, val, leaf = self.node_var[pos], self.node_value[pos], self.node_leaf[pos]
        n = X.shape[0]
        node = np.zeros((len(trees), n), dtype=np.int64)
        rows = np.arange(len(trees))[:, None]
        for _ in range(64):  # pymc-bart trees are far shallower than 64
            v = var[rows, node]
            internal = v != _LEAF
            if not internal.any():
                break
            x = X[np.arange(n)[None, :], np.where(internal, v, 0)]
            right = x > val[rows, node]
            node = np.where(internal, 2 * node + 1 + right, node)
        return leaf[rows, node]

    def predict(self, X: np.ndarray, draw_idx: np.ndarray, *, rows_per_chunk: int = 128) -> np.ndarray:
        """(len(draw_idx), N) forest sums at rows ``X`` for flat (chain-major) posterior draws.

        Rows go in chunks so the (trees x rows) work arrays stay small for large batches.
        """
        X = np.ascontiguousarray(X, dtype=np.float64)
        draw_idx = np.asarray(draw_idx, dtype=np.int64)
        out = np.empty((len(draw_idx), X.shape[0]))
        for lo in range(0, X.shape[0], rows_per_chunk):
            out[:, lo : lo + rows_per_chunk] = self._predict_rows(X[lo : lo + rows_per_chunk], draw_idx)
        return out

    def _predict_rows(self, X: np.ndarray, draw_idx: np.ndarray) -> np.ndarray:
        chain, draw = np.divmod(draw_idx, self.n_draws)
        used = np.unique(np.concatenate([self.baseline[np.unique(chain)].ravel(), self._updates_up_to(chain, draw)]))
        lookup = np.full(len(self.tree_size), -1, dtype=np.int64)
        lookup[used] = np.arange(len(used))
        preds = self._tree_predictions(X, used)
        out = np.empty((len(draw_idx), X.shape[0]))
        for c in np.unique(chain):
            want = np.flatnonzero(chain == c)
            order = want[np.argsort(draw[want], kind="stable")]
            forest = self.baseline[c].copy()
            d_done = -1
            for k in order:
                for d in range(d_done + 1, draw[k] + 1):
                    ok = self.update_tree[c, d] >= 0
                    forest[self.update_pos[c, d][ok]] = self.update_tree[c, d][ok]
                d_done = max(d_done, int(draw[k]))
                out[k] = preds[lookup[forest]].sum(axis=0)
        return out

    def _updates_up_to(self, chain: np.ndarray, draw: np.ndarray) -> np.ndarray:
        parts = [self.update_tree[c, : int(draw[chain == c].max()) + 1].ravel() for c in np.unique(chain)]
        allu = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return allu[allu >= 0]

    def to_dataset(self, prefix: str) -> xr.Dataset:
        """Variables for the run file (dimension names prefixed so forests can share a group)."""
        p = prefix
        return xr.Dataset(
            {
                f"{p}node_var": (f"{p}node", self.node_var),
                f"{p}node_value": (f"{p}node", self.node_value),
                f"{p}node_leaf": (f"{p}node", self.node_leaf),
                f"{p}tree_start": (f"{p}tree", self.tree_start),
                f"{p}tree_size": (f"{p}tree", self.tree_size),
                f"{p}baseline": (("chain", f"{p}position"), self.baseline),
                f"{p}update_tree": (("chain", "draw", f"{p}update"), self.update_tree),
                f"{p}update_pos": (("chain", "draw", f"{p}update"), self.update_pos),
            }
        )

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, prefix: str) -> ForestHistory:
        """Rebuild from :meth:`to_dataset` output."""
        p = prefix
        return cls(
            node_var=np.asarray(ds[f"{p}node_var"].values, dtype=np.int32),
            node_value=np.asarray(ds[f"{p}node_value"].values, dtype=np.float64),
            node_leaf=np.asarray(ds[f"{p}node_leaf"].values, dtype=np.float64),
            tree_start=np.asarray(ds[f"{p}tree_start"].values, dtype=np.int64),
            tree_size=np.asarray(ds[f"{p}tree_size"].values, dtype=np.int64),
            baseline=np.asarray(ds[f"{p}baseline"].values, dtype=np.int64),
            update_tree=np.asarray(ds[f"{p}update_tree"].values, dtype=np.int64),
            update_pos=np.asarray(ds[f"{p}update_pos"].values, dtype=np.int64),
        )
