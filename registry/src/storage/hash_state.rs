//! A sha256/sha512 whose state can be written down and picked up again, so an
//! upload's digest is computed once, while its bytes arrive, by whichever
//! process (or replica) receives each chunk.
//!
//! `sha2`'s hashers cannot be serialised, but the state of a Merkle–Damgård
//! hash between calls is only the chaining words, the byte count and the
//! unprocessed tail of the last block. This keeps those itself and runs the
//! block function from `sha2` (its `compress` feature: the same SHA-NI/asm
//! code the ordinary hashers use), then pads as FIPS 180-4 says.

use crate::digests::Digest;
use sha2::digest::generic_array::typenum::{U128, U64};
use sha2::digest::generic_array::GenericArray;

const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
const SHA512_IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Words {
    Sha256([u32; 8]),
    Sha512([u64; 8]),
}

/// A running hash that can be checkpointed as text and resumed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumableHash {
    words: Words,
    /// Bytes hashed so far, the tail included.
    total: u64,
    /// Bytes of the current, incomplete block.
    tail: Vec<u8>,
}

impl ResumableHash {
    pub fn sha256() -> Self {
        Self::new(Words::Sha256(SHA256_IV))
    }

    pub fn sha512() -> Self {
        Self::new(Words::Sha512(SHA512_IV))
    }

    fn new(words: Words) -> Self {
        ResumableHash {
            words,
            total: 0,
            tail: Vec::with_capacity(128),
        }
    }

    /// "sha256" or "sha512".
    pub fn algorithm(&self) -> &'static str {
        match self.words {
            Words::Sha256(_) => "sha256",
            Words::Sha512(_) => "sha512",
        }
    }

    fn block_len(&self) -> usize {
        match self.words {
            Words::Sha256(_) => 64,
            Words::Sha512(_) => 128,
        }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let block = self.block_len();
        if !self.tail.is_empty() {
            let take = (block - self.tail.len()).min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.tail.len() < block {
                return;
            }
            let tail = std::mem::take(&mut self.tail);
            self.compress(&tail);
            self.tail = tail;
            self.tail.clear();
        }
        let whole = data.len() / block * block;
        self.compress(&data[..whole]);
        self.tail.extend_from_slice(&data[whole..]);
    }

    /// Runs the block function over `data`, a whole number of blocks, in
    /// batches copied to the stack (the block function takes typed arrays;
    /// a 4 KiB copy costs far less than hashing it).
    fn compress(&mut self, data: &[u8]) {
        const BATCH: usize = 32;
        match &mut self.words {
            Words::Sha256(state) => {
                let mut batch = [GenericArray::<u8, U64>::default(); BATCH];
                for run in data.chunks(64 * BATCH) {
                    let n = run.len() / 64;
                    for (slot, block) in batch.iter_mut().zip(run.chunks_exact(64)) {
                        slot.copy_from_slice(block);
                    }
                    sha2::compress256(state, &batch[..n]);
                }
            }
            Words::Sha512(state) => {
                let mut batch = [GenericArray::<u8, U128>::default(); BATCH];
                for run in data.chunks(128 * BATCH) {
                    let n = run.len() / 128;
                    for (slot, block) in batch.iter_mut().zip(run.chunks_exact(128)) {
                        slot.copy_from_slice(block);
                    }
                    sha2::compress512(state, &batch[..n]);
                }
            }
        }
    }

    /// The digest of everything hashed (the state itself is not consumed).
    pub fn finish(&self) -> Digest {
        let mut last = self.clone();
        let block = last.block_len();
        let length_bytes = block / 8; // 8 for sha256, 16 for sha512
        let bits = u128::from(last.total) * 8;
        let mut pad = vec![0x80u8];
        while (last.tail.len() + pad.len()) % block != block - length_bytes {
            pad.push(0);
        }
        pad.extend_from_slice(&bits.to_be_bytes()[16 - length_bytes..]);
        let total = last.total;
        last.update(&pad);
        last.total = total;
        debug_assert!(last.tail.is_empty());
        let hex: String = match last.words {
            Words::Sha256(w) => w.iter().map(|x| format!("{x:08x}")).collect(),
            Words::Sha512(w) => w.iter().map(|x| format!("{x:016x}")).collect(),
        };
        format!("{}:{hex}", self.algorithm())
            .parse()
            .expect("a computed digest parses")
    }

    /// The state as one line of text: `<alg> <total> <words hex> <tail hex>`.
    pub fn checkpoint(&self) -> String {
        let words: String = match &self.words {
            Words::Sha256(w) => w.iter().map(|x| format!("{x:08x}")).collect(),
            Words::Sha512(w) => w.iter().map(|x| format!("{x:016x}")).collect(),
        };
        format!(
            "{} {} {words} {}",
            self.algorithm(),
            self.total,
            hex::encode(&self.tail)
        )
    }

    /// A state written by `checkpoint`; None when it is not one (the
    /// caller then re-hashes the data instead of trusting it).
    pub fn resume(text: &str) -> Option<Self> {
        let mut parts = text.trim().split(' ');
        let alg = parts.next()?;
        let total: u64 = parts.next()?.parse().ok()?;
        let words = parts.next()?;
        let tail = hex::decode(parts.next().unwrap_or("")).ok()?;
        if parts.next().is_some() {
            return None;
        }
        let words = match alg {
            "sha256" if words.len() == 64 => {
                let mut w = [0u32; 8];
                for (i, x) in w.iter_mut().enumerate() {
                    *x = u32::from_str_radix(words.get(i * 8..i * 8 + 8)?, 16).ok()?;
                }
                Words::Sha256(w)
            }
            "sha512" if words.len() == 128 => {
                let mut w = [0u64; 8];
                for (i, x) in w.iter_mut().enumerate() {
                    *x = u64::from_str_radix(words.get(i * 16..i * 16 + 16)?, 16).ok()?;
                }
                Words::Sha512(w)
            }
            _ => return None,
        };
        let hash = ResumableHash { words, total, tail };
        let block = hash.block_len() as u64;
        (hash.tail.len() as u64 == total % block).then_some(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::ResumableHash;
    use sha2::Digest as _;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn matches_sha2_across_any_split_and_checkpoint() {
        for n in [
            0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 1000, 70_001,
        ] {
            let d = data(n);
            let want256 = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&d)));
            let want512 = format!("sha512:{}", hex::encode(sha2::Sha512::digest(&d)));
            for split in [0, 1.min(n), n / 3, n / 2, n.saturating_sub(1), n] {
                for (mut h, want) in [
                    (ResumableHash::sha256(), &want256),
                    (ResumableHash::sha512(), &want512),
                ] {
                    h.update(&d[..split]);
                    let mut h = ResumableHash::resume(&h.checkpoint()).expect("round trip");
                    h.update(&d[split..]);
                    assert_eq!(h.len(), n as u64);
                    assert_eq!(h.finish().to_string(), *want, "n={n} split={split}");
                }
            }
        }
    }

    #[test]
    fn malformed_checkpoints_are_refused() {
        let mut h = ResumableHash::sha256();
        h.update(b"abc");
        let good = h.checkpoint();
        assert!(ResumableHash::resume(&good).is_some());
        for bad in [
            "",
            "md5 3 00 616263",
            &good.replace(" 3 ", " 4 "),
            &good[..good.len() - 2],
            &format!("{good} extra"),
        ] {
            assert!(ResumableHash::resume(bad).is_none(), "{bad:?}");
        }
    }
}
