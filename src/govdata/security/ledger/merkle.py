"""Merkle tree hashing, proofs and their verification, the RFC 6962 / RFC 9162 way.

Pure functions over a hash function, so the same code is tested against the RFC's
SHA-256 vectors and runs the ledger with SM3. Trees are never held whole: proofs
name the perfect subtrees they need (``(level, index)``: the 2**level leaves from
index·2**level), which the caller fetches in one go from wherever nodes are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

Digest = Callable[[bytes], bytes]
Node = tuple[int, int]


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(h: Digest, leaf: bytes) -> bytes:
    return h(b"\x00" + leaf)


def node_hash(h: Digest, left: bytes, right: bytes) -> bytes:
    return h(b"\x01" + left + right)


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_perfect(start: int, end: int) -> bool:
    size = end - start
    return size & (size - 1) == 0 and start % size == 0


def _perfect_node(start: int, end: int) -> Node:
    level = (end - start).bit_length() - 1
    return level, start >> level


def range_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees whose hashes give MTH(D[start:end]), left to right."""
    nodes: list[Node] = []
    while start < end:
        if _is_perfect(start, end):
            nodes.append(_perfect_node(start, end))
            break
        k = _split(end - start)
        nodes.append(_perfect_node(start, start + k))
        start += k
    return nodes


def fold(h: Digest, hashes: list[bytes]) -> bytes:
    """MTH of a range from its perfect subtrees (largest first): the right edge folds first."""
    acc = hashes[-1]
    for left in reversed(hashes[:-1]):
        acc = node_hash(h, left, acc)
    return acc


def root_from_leaves(h: Digest, leaves: list[bytes]) -> bytes:
    """MTH(D[n]) straight from the definition; the empty tree hashes the empty string."""
    if not leaves:
        return h(b"")
    if len(leaves) == 1:
        return leaf_hash(h, leaves[0])
    k = _split(len(leaves))
    return node_hash(h, root_from_leaves(h, leaves[:k]), root_from_leaves(h, leaves[k:]))


# A proof is a list of ranges; each range's hash is folded from its perfect nodes.
Plan = list[tuple[int, int]]


def inclusion_plan(index: int, size: int) -> Plan:
    """The ranges whose hashes make PATH(index, D[size]), in the order the proof lists them."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")
    ranges: Plan = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_plan(first: int, second: int) -> Plan:
    """The ranges whose hashes make PROOF(first, D[second]) (RFC 6962 §2.1.2)."""
    if not 0 < first <= second:
        raise ValueError("consistency needs 0 < first ≤ second")
    if first == second:
        return []
    ranges: Plan = []
    start, end, m, complete = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            complete = False
    ranges.reverse()
    return ranges


def plan_nodes(plan: Plan) -> set[Node]:
    return {node for start, end in plan for node in range_nodes(start, end)}


def resolve(h: Digest, plan: Plan, nodes: Mapping[Node, bytes]) -> list[bytes]:
    return [fold(h, [nodes[n] for n in range_nodes(s, e)]) for s, e in plan]


def root_of(h: Digest, size: int, nodes: Mapping[Node, bytes]) -> bytes:
    if size == 0:
        return h(b"")
    return fold(h, [nodes[n] for n in range_nodes(0, size)])


def verify_inclusion(
    h: Digest, index: int, size: int, leaf_digest: bytes, path: Iterable[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: recompute the root from the leaf hash and the audit path."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_digest
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(h, p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(h, r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    h: Digest, first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: the tree of ``second`` leaves extends the one of ``first``."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(h, c, fr)
            sr = node_hash(h, c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(h, sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


class Frontier:
    """The right edge of a growing tree: appending a leaf yields the perfect nodes it completes.

    ``edge`` maps level → the hash of the last perfect subtree at that level that is not yet
    inside a bigger one; it is exactly the set bits of the tree size.
    """

    def __init__(self, h: Digest, size: int = 0, edge: Mapping[int, bytes] | None = None) -> None:
        self.h = h
        self.size = size
        self.edge = dict(edge or {})

    @staticmethod
    def nodes_for(size: int) -> list[Node]:
        """Which perfect nodes make the edge of a tree of ``size`` leaves."""
        return [
            (level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1
        ]

    def append(self, digest: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the (level, index, hash) of every node it completes."""
        index = self.size
        made = [(0, index, digest)]
        level, acc = 0, digest
        while index >> level & 1:
            acc = node_hash(self.h, self.edge.pop(level), acc)
            level += 1
            made.append((level, index >> level, acc))
        self.edge[level] = acc
        self.size += 1
        return made

    def root(self) -> bytes:
        if self.size == 0:
            return self.h(b"")
        return fold(self.h, [self.edge[lvl] for lvl in sorted(self.edge, reverse=True)])
