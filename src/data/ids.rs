//! Finding rows by their text id without keeping a second copy of every id:
//! a hash table of row positions, compared against the rows' own ids.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

/// Row position by id, for ids stored elsewhere (in the rows themselves).
#[derive(Debug, Default, Clone)]
pub(crate) struct IdIndex {
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl IdIndex {
    /// The position of the row whose id is `key`; `id_of(position)` reads a row's id.
    pub fn find<'a>(&self, key: &str, id_of: impl Fn(u32) -> &'a str) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.table.find(hash, |ix| id_of(*ix) == key).copied()
    }

    /// Records that the row at `position` has id `key` (the caller checks it is new).
    pub fn insert<'a>(&mut self, position: u32, key: &str, id_of: impl Fn(u32) -> &'a str) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(key);
        self.table
            .insert_unique(hash, position, |ix| hasher.hash_one(id_of(*ix)));
    }
}

/// Distinct strings in one buffer, numbered in order of first sight.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    text: String,
    ends: Vec<u32>,
    index: IdIndex,
}

impl Interner {
    pub fn get(&self, ix: u32) -> &str {
        piece(&self.text, &self.ends, ix)
    }

    /// The number of `key`, and whether it was new.
    pub fn intern(&mut self, key: &str) -> (u32, bool) {
        let (text, ends) = (&self.text, &self.ends);
        if let Some(ix) = self.index.find(key, |ix| piece(text, ends, ix)) {
            return (ix, false);
        }
        let ix = self.ends.len() as u32;
        self.text.push_str(key);
        self.ends.push(self.text.len() as u32);
        let (text, ends) = (&self.text, &self.ends);
        self.index.insert(ix, key, |ix| piece(text, ends, ix));
        (ix, true)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }
}

/// String number `ix` of a buffer where string `i` ends at `ends[i]`.
fn piece<'a>(text: &'a str, ends: &[u32], ix: u32) -> &'a str {
    let end = ends[ix as usize] as usize;
    let start = if ix == 0 {
        0
    } else {
        ends[ix as usize - 1] as usize
    };
    &text[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_in_order_of_first_sight() {
        let mut interner = Interner::default();
        assert_eq!(interner.intern("O1"), (0, true));
        assert_eq!(interner.intern("O2"), (1, true));
        assert_eq!(interner.intern("O1"), (0, false));
        assert_eq!(
            (interner.get(0), interner.get(1), interner.len()),
            ("O1", "O2", 2)
        );
    }

    #[test]
    fn finds_rows_by_their_own_ids() {
        let rows = ["C1", "C2", "C3"];
        let mut index = IdIndex::default();
        for (i, id) in rows.iter().enumerate() {
            index.insert(i as u32, id, |ix| rows[ix as usize]);
        }
        assert_eq!(index.find("C2", |ix| rows[ix as usize]), Some(1));
        assert_eq!(index.find("C4", |ix| rows[ix as usize]), None);
    }
}
