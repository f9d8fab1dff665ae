//! Sharded runs: `xsell send --shard K/N` and `xsell run --shard K/N` handle
//! only the customers whose stable hash falls in shard K of N, so N
//! processes (or machines sharing one ledger) split a campaign. Caps are per
//! customer, so a shard never waits on another; a mistaken overlap (two
//! processes given the same shard, or N changed between runs) still sends
//! nothing twice, because each message's claim is unique in the ledger.

use std::str::FromStr;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether `customer_id` belongs to this shard: a SHA-256 of the id, the
    /// same on every machine and version.
    pub fn contains(&self, customer_id: &str) -> bool {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("xsell-shard-v1:{customer_id}").as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(first) % u64::from(self.count)) as u32 + 1 == self.index
    }

    /// `K/N`, as recorded with the shard's schedule runs.
    pub fn label(&self) -> String {
        format!("{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let wrong = || format!("--shard takes K/N with 1 ≤ K ≤ N ≤ 1024, e.g. 2/4; not `{text}`");
        let (index, count) = text.split_once('/').ok_or_else(wrong)?;
        let (index, count): (u32, u32) = (
            index.trim().parse().map_err(|_| wrong())?,
            count.trim().parse().map_err(|_| wrong())?,
        );
        if index == 0 || index > count || count > 1024 {
            return Err(wrong());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_customer_is_in_exactly_one_shard_and_shards_are_even() {
        let shards: Vec<Shard> = (1..=4).map(|k| Shard { index: k, count: 4 }).collect();
        let mut sizes = [0usize; 4];
        for n in 0..20_000 {
            let id = format!("C{n:06}");
            let owners: Vec<usize> = (0..4).filter(|&k| shards[k].contains(&id)).collect();
            assert_eq!(owners.len(), 1, "{id}");
            sizes[owners[0]] += 1;
        }
        for size in sizes {
            assert!((4_500..5_500).contains(&size), "{sizes:?}");
        }
    }

    #[test]
    fn parsing_says_what_it_takes() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0", "1/2000"] {
            assert!(bad.parse::<Shard>().unwrap_err().contains("K/N"), "{bad}");
        }
    }
}
