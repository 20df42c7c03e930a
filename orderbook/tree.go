package orderbook

import "github.com/google/btree"

// The levels of each side are ordered in a google/btree BTreeG of levelKey.
// The tree is touched only when a level is created or purged and when the
// best level empties, but those must not allocate either, so each book
// builds its trees to full size when it is made and keeps them from ever
// handing back their root; see newLevelTrees.
const (
	// btreeDegree is the google/btree degree of the level trees; nodes hold
	// up to treeNodeKeysMax keys of 16 bytes, a few cache lines.
	btreeDegree     = 16
	treeNodeKeysMax = 2*btreeDegree - 1
	// btreeFreeListNodes bounds the nodes each book keeps for reuse, so that
	// creating and removing levels does not allocate.
	btreeFreeListNodes = 256
	// treeSentinels is how many sentinel keys each tree always holds: more
	// than one node holds, so the root always has children.
	treeSentinels = treeNodeKeysMax + 1
	// sentinelKeyMin is the first sentinel key, past the key of any price.
	sentinelKeyMin = PriceMax + 1
)

// levelKey is what the btree stores. key orders levels best first: the
// price for asks and the negated price for bids, so ascending order is
// priority order. A sentinel has level nilIndex and comes after every
// level.
type levelKey struct {
	key   int64
	level int32
}

func lessLevelKey(a, b levelKey) bool { return a.key < b.key }

// isSentinel reports whether k is one of the keys past every level. Every
// walk over a tree goes best first and stops at the first sentinel.
func (k levelKey) isSentinel() bool { return k.level == nilIndex }

// Priming the level trees: see newLevelTrees.
const (
	// treeKeysTwoLevels is the most keys that, inserted in order, keep a
	// tree at two levels (a root over up to 2*btreeDegree leaves) and
	// leave its last leaf full; see treePrimeKeys.
	treeKeysTwoLevels = treeNodeKeysMax*btreeDegree + btreeDegree - 1
	// treeNodesSpare is how many nodes beyond the leaves of their levels
	// the two trees can hold: a root and up to two leaves of sentinels each.
	treeNodesSpare = 6
	// levelsPerSidePrimedMax is the most levels a side can hold without
	// allocating: beyond it, its tree may grow a third level, whose new
	// inner nodes may have to grow their child lists. A leaf holds at least
	// btreeDegree-1 keys, so a root with its most children, 2*btreeDegree
	// leaves and a key between each two, stands for at least treeKeysRootFull
	// keys; with fewer, the root is never full and never splits.
	levelsPerSidePrimedMax = treeKeysRootFull - 1 - treeSentinels
	treeKeysRootFull       = 2*btreeDegree*(btreeDegree-1) + 2*btreeDegree - 1
)

// newLevelTrees returns both sides' trees, holding only their sentinels,
// with nodes for levels levels in the free list fl that they share, such
// that creating and removing levels does not allocate.
//
// google/btree allocates in ways that a free list alone does not prevent:
// a node's key and child lists grow by appending, a node taken from the
// free list keeps the room it had, and a tree that shrinks to one node
// frees its root and later takes any node as its new root. So each tree is
// first grown to two full levels, and spare trees beside them until there
// are nodes enough for levels levels, by inserting keys in order, which
// splits every node as soon as it is full: every node holds a full node's
// keys at some point (see treePrimeKeys), every root its children, and the
// leaves end half full, the fewest keys a leaf ever has. Trees alive at
// once hold distinct nodes. Then the spare trees are cleared and the sides'
// extra keys deleted, which returns the nodes to fl with their room
// intact. The sentinels, more keys than one node holds, keep each side's
// root an inner node for good, with the room for children it grew.
func newLevelTrees(fl *btree.FreeListG[levelKey], levels int) [2]*btree.BTreeG[levelKey] {
	var sides [2]*btree.BTreeG[levelKey]
	sideKeys := treePrimeKeys(min(treeSentinels+levels, treeKeysTwoLevels))
	for s := range sides {
		sides[s] = btree.NewWithFreeListG(btreeDegree, lessLevelKey, fl)
		insertKeysInOrder(sides[s], sideKeys)
	}
	nodes := 2 * treeNodes(sideKeys)
	want := min(levels/(btreeDegree-1)+treeNodesSpare, btreeFreeListNodes)
	var spares []*btree.BTreeG[levelKey]
	for ; nodes < want; nodes += treeNodes(treeKeysTwoLevels) {
		t := btree.NewWithFreeListG(btreeDegree, lessLevelKey, fl)
		insertKeysInOrder(t, treeKeysTwoLevels)
		spares = append(spares, t)
	}
	for _, t := range spares {
		t.Clear(true)
	}
	for _, t := range sides {
		for i := treeSentinels; i < sideKeys; i++ {
			t.Delete(levelKey{key: sentinelKeyMin + int64(i)})
		}
	}
	return sides
}

// insertKeysInOrder inserts keys sentinel keys, ascending, into t.
func insertKeysInOrder(t *btree.BTreeG[levelKey], keys int) {
	for i := range keys {
		t.ReplaceOrInsert(levelKey{key: sentinelKeyMin + int64(i), level: nilIndex})
	}
}

// treePrimeKeys returns the least key count from n up that leaves the last
// leaf full when inserted in order. A full leaf splits when the next key
// arrives, leaving btreeDegree-1 keys on the right and the new key after
// them, so the last leaf is full again every btreeDegree keys, first at
// treeNodeKeysMax keys; at any other count it might never have held a full
// node's keys, and would allocate when it first does.
func treePrimeKeys(n int) int {
	n = max(n, treeNodeKeysMax)
	return n + (treeNodeKeysMax-n%btreeDegree+btreeDegree)%btreeDegree
}

// treeNodes is how many nodes keys keys inserted in order make, up to
// treeKeysTwoLevels: one leaf per btreeDegree keys after the first leaf's
// treeNodeKeysMax, and a root once there are two.
func treeNodes(keys int) int {
	if keys <= treeNodeKeysMax {
		return 1
	}
	return (keys-treeNodeKeysMax+btreeDegree-1)/btreeDegree + 2
}
