//! Merkle trees as RFC 6962 (Certificate Transparency) defines them, over the chain heads a
//! checkpoint covers: the checkpoint signs one root, and an exported dossier carries only its
//! own leaf and the audit path to that root, so it reveals nothing of other dossiers.
//!
//! Leaf hash: `SHA-256(0x00 || leaf bytes)`; node hash: `SHA-256(0x01 || left || right)`; the
//! tree of `n` leaves splits at the largest power of two below `n` (RFC 6962 section 2.1).
//! Audit paths and their verification follow RFC 9162 section 2.1.3.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash of a leaf's bytes.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The root of leaves already hashed; the empty tree's root is SHA-256 of nothing.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` (empty when out of range or for a one-leaf tree).
pub fn audit_path(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 || index >= n {
        return Vec::new();
    }
    let k = split(n);
    if index < k {
        let mut path = audit_path(&leaves[..k], index);
        path.push(root(&leaves[k..]));
        path
    } else {
        let mut path = audit_path(&leaves[k..], index - k);
        path.push(root(&leaves[..k]));
        path
    }
}

/// Whether `leaf` is leaf `index` of the tree of `size` leaves with `root`, by `path`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("{i}").as_bytes()))
            .collect()
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves_its_inclusion_and_no_other() {
        for n in 1..=17 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let path = audit_path(&l, i);
                assert!(
                    verify_inclusion(&l[i], i as u64, n as u64, &path, &r),
                    "n={n} i={i}"
                );
                let other = leaf_hash(b"another");
                assert!(!verify_inclusion(&other, i as u64, n as u64, &path, &r));
                if n > 1 {
                    let j = (i + 1) % n;
                    assert!(!verify_inclusion(&l[i], j as u64, n as u64, &path, &r));
                }
            }
        }
    }

    #[test]
    fn the_root_is_rfc_6962s() {
        // Two leaves: H(1 || H(0 || a) || H(0 || b)).
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        assert_eq!(root(&[a, b]), node_hash(&a, &b));
        // Three leaves split 2 + 1.
        let c = leaf_hash(b"c");
        assert_eq!(root(&[a, b, c]), node_hash(&node_hash(&a, &b), &c));
    }
}
