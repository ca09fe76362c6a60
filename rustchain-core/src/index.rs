//! A perfect hash index over a fixed set of string keys, built once.
//!
//! Design: hash-and-displace, in the style of PTHash. The high bits of a key's
//! seeded 64-bit hash `h` (a foldhash-like multiply-fold) pick its bucket; each
//! bucket has a 16-bit pilot, and the key's slot is `reduce((h ^ pilot) * K)`
//! over `n / 0.9` slots (`reduce`: multiply-high range reduction). Buckets are
//! placed largest first, each taking the smallest pilot that lands all its
//! keys on free slots. A lookup is one hash, one pilot read and one 24-byte
//! slot read: key, value and a 32-bit hash tag that rejects most misses
//! without reading key bytes. A failed seed is retried with the next of a
//! fixed sequence, then with emptier tables, then a sorted array: `build`
//! always ends, with an exact index.

use std::fmt;
use std::ops::Range;

/// One step of the build schedule: how many seeds to try with which shape.
#[derive(Clone, Copy, Debug)]
struct Tier {
    /// Seeds tried with this shape before moving to the next tier.
    seeds: u32,
    /// Keys per slot, in thousandths: the load factor of the slot table.
    load_permille: usize,
    /// Average keys per bucket, in tenths.
    keys_per_bucket_tenths: usize,
}

/// Shapes tried in order.
///
/// The first tier succeeds on its first seed in practice. Its load factor of
/// 0.9 and 2.5 keys per bucket trade 11% empty slots and 0.8 bytes of pilot
/// per key for a build about three times cheaper than at 0.97 / 3.5 (pilot
/// trials grow steeply with both). The later, emptier tables only exist so
/// that bad luck costs memory instead of a failed build.
const SCHEDULE: [Tier; 3] = [
    Tier {
        seeds: 8,
        load_permille: 900,
        keys_per_bucket_tenths: 25,
    },
    Tier {
        seeds: 8,
        load_permille: 750,
        keys_per_bucket_tenths: 20,
    },
    Tier {
        seeds: 16,
        load_permille: 500,
        keys_per_bucket_tenths: 15,
    },
];

/// Per-bucket displacement value; see the module documentation.
type Pilot = u16;

/// A read-only index from a fixed set of string keys to their positions.
///
/// Built once with [`PerfectIndex::build`]; the value of the `i`-th key is
/// `i`. Lookups hash the query once, read one pilot and one slot, and compare
/// the stored key, so every answer is exact. The index borrows the keys.
///
/// ```
/// use rustchain_core::index::PerfectIndex;
///
/// let names = ["fs_read", "fs_write", "http_request"];
/// let index = PerfectIndex::build(&names)?;
/// assert_eq!(index.len(), 3);
/// assert_eq!(index.get("fs_write"), Some(1));
/// assert_eq!(index.get("fs_delete"), None);
/// # Ok::<(), rustchain_core::index::DuplicateKey>(())
/// ```
#[derive(Clone)]
pub struct PerfectIndex<'k> {
    layout: Layout<'k>,
    len: usize,
}

/// The error returned by [`PerfectIndex::build`] when two keys are equal.
///
/// `second` is the smallest position whose key already occurred earlier in
/// the input, and `first` is the position of that key's first occurrence, so
/// `first < second` and the report does not depend on hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateKey {
    /// Position of the first occurrence of the repeated key.
    pub first: usize,
    /// Position of the earliest repetition.
    pub second: usize,
}

impl fmt::Display for DuplicateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "duplicate key at positions {} and {}",
            self.first, self.second
        )
    }
}

impl std::error::Error for DuplicateKey {}

/// One entry of the table. Key, value and tag sit together so a lookup
/// touches a single slot (24 bytes: the tag fills what would be padding).
#[derive(Clone, Copy, Debug)]
struct Slot<'k> {
    key: &'k str,
    value: u32,
    tag: u32,
}

/// How the keys are laid out.
#[derive(Clone)]
enum Layout<'k> {
    /// The perfect hash table: the normal case.
    Hashed(HashedTable<'k>),
    /// Keys sorted bytewise, searched by bisection. Used for zero keys and as
    /// the last resort if every hashed attempt failed.
    Sorted(Box<[Slot<'k>]>),
}

/// The hash-and-displace table.
#[derive(Clone)]
struct HashedTable<'k> {
    seeds: HashSeeds,
    pilots: Box<[Pilot]>,
    slots: Box<[Slot<'k>]>,
}

impl<'k> PerfectIndex<'k> {
    /// Builds the index over `keys`; the value of `keys[i]` is `i`.
    ///
    /// Deterministic: the same keys in the same order give the same layout on
    /// every run. Returns the earliest repeated key as [`DuplicateKey`] if the
    /// keys are not distinct.
    ///
    /// # Panics
    ///
    /// If there are more than `u32::MAX` keys (values are stored as `u32`).
    pub fn build(keys: &[&'k str]) -> Result<Self, DuplicateKey> {
        Self::build_with_schedule(keys, &SCHEDULE)
    }

    /// Builds with an explicit schedule; tests use it to force the fallback.
    fn build_with_schedule(keys: &[&'k str], schedule: &[Tier]) -> Result<Self, DuplicateKey> {
        assert!(
            u32::try_from(keys.len()).is_ok(),
            "PerfectIndex holds at most u32::MAX keys"
        );
        if !keys.is_empty() {
            let mut builder = Builder::default();
            let mut attempt = 0_u64;
            for tier in schedule {
                for _ in 0..tier.seeds {
                    let seeds = HashSeeds::for_attempt(attempt);
                    attempt += 1;
                    match builder.try_build(keys, seeds, tier) {
                        Ok(table) => {
                            return Ok(Self {
                                layout: Layout::Hashed(table),
                                len: keys.len(),
                            });
                        }
                        Err(Failure::Duplicate(duplicate)) => return Err(duplicate),
                        Err(Failure::Unlucky) => {}
                    }
                }
            }
        }
        Ok(Self {
            layout: Layout::Sorted(sorted_slots(keys)?),
            len: keys.len(),
        })
    }

    /// Position of `key` in the input given to [`build`](Self::build), or
    /// `None` if it is not one of the keys.
    ///
    /// Allocates nothing and always compares the stored key, so a `Some` is
    /// never a false positive.
    #[inline]
    pub fn get(&self, key: &str) -> Option<usize> {
        match &self.layout {
            Layout::Hashed(table) => table.get(key),
            Layout::Sorted(slots) => sorted_get(slots, key),
        }
    }

    /// Number of keys in the index.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the index holds no keys.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for PerfectIndex<'_> {
    /// Summarises the shape instead of listing every key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("PerfectIndex");
        out.field("len", &self.len);
        match &self.layout {
            Layout::Hashed(table) => out
                .field("slots", &table.slots.len())
                .field("buckets", &table.pilots.len()),
            Layout::Sorted(_) => out.field("layout", &"sorted"),
        };
        out.finish()
    }
}

impl HashedTable<'_> {
    #[inline]
    fn get(&self, key: &str) -> Option<usize> {
        let hash = hash_key(key.as_bytes(), &self.seeds);
        let pilot = *self.pilots.get(reduce(hash, self.pilots.len()))?;
        let slot = self.slots.get(slot_index(hash, pilot, self.slots.len()))?;
        // The tag check rejects almost every miss without reading key bytes.
        if slot.tag == tag(hash) && same_bytes(slot.key.as_bytes(), key.as_bytes()) {
            Some(slot.value as usize)
        } else {
            None
        }
    }
}

/// Lookup in the sorted fallback layout; kept out of line so that the hashed
/// path, which is what runs in practice, stays small.
#[cold]
#[inline(never)]
fn sorted_get(slots: &[Slot<'_>], key: &str) -> Option<usize> {
    slots
        .binary_search_by(|slot| slot.key.cmp(key))
        .ok()
        .map(|at| slots[at].value as usize)
}

/// `stored == query`, inlined for keys of up to 32 bytes.
///
/// Tool names are short; comparing overlapping words (as the hash reads
/// them) avoids a call to `memcmp`, which costs about as much as the rest of
/// a lookup.
#[inline(always)]
fn same_bytes(stored: &[u8], query: &[u8]) -> bool {
    let len = query.len();
    if stored.len() != len {
        return false;
    }
    let same_u64 = |at: usize| read_u64(stored, at) == read_u64(query, at);
    let same_at = |at: usize| stored[at] == query[at];
    match len {
        0 => true,
        // The first, middle and last bytes are every byte of up to three.
        1..4 => same_at(0) && same_at(len / 2) && same_at(len - 1),
        4..8 => {
            read_u32(stored, 0) == read_u32(query, 0)
                && read_u32(stored, len - 4) == read_u32(query, len - 4)
        }
        8..=16 => same_u64(0) && same_u64(len - 8),
        17..=32 => same_u64(0) && same_u64(8) && same_u64(len - 16) && same_u64(len - 8),
        _ => stored == query,
    }
}

/// Why one build attempt did not produce a table.
enum Failure {
    /// Two keys are equal: no seed can help.
    Duplicate(DuplicateKey),
    /// This seed did not work (full-hash collision or a bucket that found no
    /// pilot); the next seed almost surely will.
    Unlucky,
}

/// Scratch buffers reused across build attempts.
#[derive(Default)]
struct Builder {
    /// `bucket_starts[b]..bucket_starts[b + 1]` is bucket `b` in `hashes`
    /// and `positions`.
    bucket_starts: Vec<u32>,
    /// Key hashes grouped by bucket (input order within a bucket).
    hashes: Vec<u64>,
    /// Input positions of the keys, parallel to `hashes`.
    positions: Vec<u32>,
    /// Non-empty buckets, largest first.
    buckets_by_size: Vec<u32>,
    /// One bit per slot: occupied.
    taken: Vec<u64>,
    /// Slots claimed by the pilot being tried, to undo a partial placement.
    claimed: Vec<usize>,
}

impl Builder {
    /// One attempt with one seed; fails if two keys share a full hash or
    /// some bucket finds no pilot.
    fn try_build<'k>(
        &mut self,
        keys: &[&'k str],
        seeds: HashSeeds,
        tier: &Tier,
    ) -> Result<HashedTable<'k>, Failure> {
        let key_count = keys.len();
        let bucket_count = scale(key_count, 10, tier.keys_per_bucket_tenths).max(1);
        let slot_count = scale(key_count, 1000, tier.load_permille).max(key_count);

        self.group_by_bucket(keys, &seeds, bucket_count);
        self.check_equal_hashes(keys)?;
        self.order_buckets_by_size();

        // Place buckets, largest first: they need the emptiest table.
        self.taken.clear();
        self.taken.resize(slot_count.div_ceil(64), 0);
        let mut pilots: Vec<Pilot> = vec![0; bucket_count];
        for at in 0..self.buckets_by_size.len() {
            let bucket = self.buckets_by_size[at] as usize;
            pilots[bucket] = self
                .find_pilot(self.members(bucket), slot_count)
                .ok_or(Failure::Unlucky)?;
        }

        // Empty slots hold a copy of key 0. That can never produce a wrong
        // answer: a query equal to key 0 hashes to key 0's own slot, so any
        // query that reaches an empty slot differs from the key stored there.
        let filler = Slot {
            key: keys[0],
            value: 0,
            tag: tag(hash_key(keys[0].as_bytes(), &seeds)),
        };
        let mut slots = vec![filler; slot_count];
        for (bucket, &pilot) in pilots.iter().enumerate() {
            let members = self.members(bucket);
            for (&hash, &position) in self.hashes[members.clone()]
                .iter()
                .zip(&self.positions[members])
            {
                slots[slot_index(hash, pilot, slot_count)] = Slot {
                    key: keys[position as usize],
                    value: position,
                    tag: tag(hash),
                };
            }
        }
        Ok(HashedTable {
            seeds,
            pilots: pilots.into_boxed_slice(),
            slots: slots.into_boxed_slice(),
        })
    }

    /// Index range of bucket `bucket` in `hashes` and `positions`.
    fn members(&self, bucket: usize) -> Range<usize> {
        self.bucket_starts[bucket] as usize..self.bucket_starts[bucket + 1] as usize
    }

    /// Counting-sorts the keys' hashes and positions by bucket, keeping input
    /// order within a bucket so the layout depends only on the input.
    ///
    /// Hashing each key twice (count, then scatter) is cheaper than storing
    /// every hash in input order as well: it saves memory traffic and page
    /// faults, which dominate at 100,000 keys.
    fn group_by_bucket(&mut self, keys: &[&str], seeds: &HashSeeds, bucket_count: usize) {
        let starts = &mut self.bucket_starts;
        starts.clear();
        starts.resize(bucket_count + 1, 0);
        for key in keys {
            starts[reduce(hash_key(key.as_bytes(), seeds), bucket_count)] += 1;
        }
        // Counts become bucket ends...
        let mut end = 0;
        for start in starts.iter_mut() {
            end += *start;
            *start = end;
        }
        // ...and filling each bucket from its end while walking the keys
        // backwards leaves every entry at its bucket's start.
        self.hashes.clear();
        self.hashes.resize(keys.len(), 0);
        self.positions.clear();
        self.positions.resize(keys.len(), 0);
        for (position, key) in keys.iter().enumerate().rev() {
            let hash = hash_key(key.as_bytes(), seeds);
            let at = &mut starts[reduce(hash, bucket_count)];
            *at -= 1;
            self.hashes[*at as usize] = hash;
            self.positions[*at as usize] = position as u32;
        }
    }

    /// Finds keys with equal full hashes. Equal keys always have equal hashes
    /// (and share a bucket), so this is also where duplicates are detected.
    fn check_equal_hashes(&self, keys: &[&str]) -> Result<(), Failure> {
        let mut duplicate: Option<DuplicateKey> = None;
        let mut collision = false;
        for bucket in 0..self.bucket_starts.len() - 1 {
            let members = self.members(bucket);
            let hashes = &self.hashes[members.clone()];
            // Typical buckets hold a handful of keys: compare all pairs, and
            // only sort the rare bucket that is large or has a repeat.
            let may_repeat = match hashes.len() {
                0 | 1 => false,
                2..=32 => hashes
                    .iter()
                    .enumerate()
                    .any(|(i, a)| hashes[i + 1..].contains(a)),
                _ => true,
            };
            if !may_repeat {
                continue;
            }
            // Sorting by (hash, position) puts equal hashes side by side,
            // each run in input order.
            let mut sorted: Vec<(u64, u32)> = hashes
                .iter()
                .copied()
                .zip(self.positions[members].iter().copied())
                .collect();
            sorted.sort_unstable();
            for run in sorted.chunk_by(|a, b| a.0 == b.0) {
                if run.len() < 2 {
                    continue;
                }
                match earliest_repeat(keys, run) {
                    Some(found) => {
                        if duplicate.is_none_or(|best| found.second < best.second) {
                            duplicate = Some(found);
                        }
                    }
                    None => collision = true,
                }
            }
        }
        match (duplicate, collision) {
            (Some(duplicate), _) => Err(Failure::Duplicate(duplicate)),
            (None, true) => Err(Failure::Unlucky),
            (None, false) => Ok(()),
        }
    }

    /// Lists non-empty buckets from largest to smallest (counting sort; ties
    /// in bucket order, for determinism).
    fn order_buckets_by_size(&mut self) {
        let bucket_count = self.bucket_starts.len() - 1;
        let starts = &self.bucket_starts;
        let size = |bucket: usize| (starts[bucket + 1] - starts[bucket]) as usize;
        let largest = (0..bucket_count).map(size).max().unwrap_or(0);
        // next_of_size[s]: where the next bucket of size s goes.
        let mut next_of_size = vec![0_usize; largest + 1];
        for bucket in 0..bucket_count {
            next_of_size[size(bucket)] += 1;
        }
        let mut non_empty = 0;
        for count in next_of_size[1..].iter_mut().rev() {
            let buckets = *count;
            *count = non_empty;
            non_empty += buckets;
        }
        let order = &mut self.buckets_by_size;
        order.clear();
        order.resize(non_empty, 0);
        for bucket in (0..bucket_count).filter(|&bucket| size(bucket) > 0) {
            let next = &mut next_of_size[size(bucket)];
            order[*next] = bucket as u32;
            *next += 1;
        }
    }

    /// Smallest pilot that puts every key of the bucket in a free slot, and
    /// marks those slots taken; `None` if no pilot works.
    fn find_pilot(&mut self, members: Range<usize>, slot_count: usize) -> Option<Pilot> {
        let hashes = &self.hashes[members];
        let taken = &mut self.taken;
        let is_taken = |taken: &[u64], slot: usize| taken[slot / 64] & (1 << (slot % 64)) != 0;
        // Singletons are the most common bucket and the ones placed when the
        // table is fullest, so they get a loop without the undo bookkeeping.
        if let [hash] = *hashes {
            let pilot = (0..=Pilot::MAX)
                .find(|&pilot| !is_taken(taken, slot_index(hash, pilot, slot_count)))?;
            let slot = slot_index(hash, pilot, slot_count);
            taken[slot / 64] |= 1 << (slot % 64);
            return Some(pilot);
        }
        'pilots: for pilot in 0..=Pilot::MAX {
            // Most pilots fail on a taken slot, so test before writing.
            if hashes
                .iter()
                .any(|&hash| is_taken(taken, slot_index(hash, pilot, slot_count)))
            {
                continue;
            }
            // Claim the slots; two keys of this bucket may still collide.
            self.claimed.clear();
            for &hash in hashes {
                let slot = slot_index(hash, pilot, slot_count);
                if is_taken(taken, slot) {
                    for &claimed in &self.claimed {
                        taken[claimed / 64] &= !(1 << (claimed % 64));
                    }
                    continue 'pilots;
                }
                taken[slot / 64] |= 1 << (slot % 64);
                self.claimed.push(slot);
            }
            return Some(pilot);
        }
        None
    }
}

/// `count * numerator / denominator`, without overflow on 32-bit targets.
fn scale(count: usize, numerator: usize, denominator: usize) -> usize {
    (count as u64 * numerator as u64 / denominator as u64) as usize
}

/// The earliest position in `run` (equal hashes, ascending positions) whose
/// key equals an earlier one, with that earlier one's first position.
fn earliest_repeat(keys: &[&str], run: &[(u64, u32)]) -> Option<DuplicateKey> {
    run.iter()
        .enumerate()
        .skip(1)
        .find_map(|(j, &(_, second))| {
            run[..j]
                .iter()
                .find(|&&(_, first)| keys[first as usize] == keys[second as usize])
                .map(|&(_, first)| DuplicateKey {
                    first: first as usize,
                    second: second as usize,
                })
        })
}

/// The fallback layout: slots sorted by key. Also detects duplicates (equal
/// keys become adjacent, ties ordered by position).
fn sorted_slots<'k>(keys: &[&'k str]) -> Result<Box<[Slot<'k>]>, DuplicateKey> {
    let mut slots: Vec<Slot<'k>> = keys
        .iter()
        .zip(0_u32..)
        .map(|(&key, value)| Slot { key, value, tag: 0 })
        .collect();
    slots.sort_unstable_by(|a, b| a.key.cmp(b.key).then(a.value.cmp(&b.value)));
    let duplicate = slots
        .windows(2)
        .filter(|pair| pair[0].key == pair[1].key)
        .map(|pair| DuplicateKey {
            first: pair[0].value as usize,
            second: pair[1].value as usize,
        })
        .min_by_key(|duplicate| duplicate.second);
    match duplicate {
        Some(duplicate) => Err(duplicate),
        None => Ok(slots.into_boxed_slice()),
    }
}

/// Maps `x` uniformly onto `0..range` with a multiply instead of a division
/// (Lemire's fast range reduction); it uses the high bits of `x`.
#[inline(always)]
fn reduce(x: u64, range: usize) -> usize {
    ((u128::from(x) * range as u128) >> 64) as usize
}

/// Slot of a key with hash `hash` in a bucket with `pilot`.
///
/// The pilot flips low bits of the hash and the multiply carries them to the
/// top, where `reduce` looks. (Only XOR-ing a mask would not do: two keys
/// whose hashes share their top bits would collide for every pilot.) Over the
/// pilots, a key's slots follow a golden-ratio Weyl sequence: evenly spread.
#[inline(always)]
fn slot_index(hash: u64, pilot: Pilot, slot_count: usize) -> usize {
    const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
    reduce((hash ^ u64::from(pilot)).wrapping_mul(GOLDEN), slot_count)
}

/// 32 bits of the hash, mixed from all of its bits, stored in each slot so a
/// miss rarely needs to compare key bytes.
#[inline(always)]
fn tag(hash: u64) -> u32 {
    (hash.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> 32) as u32
}

/// Secret-free hash keys derived from the attempt number.
#[derive(Clone, Copy, Debug)]
struct HashSeeds {
    /// Starting accumulator (rotated by the key length).
    start: u64,
    /// Mixed into the last 8 bytes.
    last: u64,
    /// Mixed into the second word of each 16-byte block of long keys.
    block: u64,
}

impl HashSeeds {
    /// Seeds for build attempt `attempt`: a fixed sequence, so builds are
    /// reproducible.
    fn for_attempt(attempt: u64) -> Self {
        let mut state = attempt ^ 0x243F_6A88_85A3_08D3;
        Self {
            start: splitmix64(&mut state),
            last: splitmix64(&mut state),
            block: splitmix64(&mut state),
        }
    }
}

/// The SplitMix64 generator step; turns a counter into well-mixed words.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Multiplies to 128 bits and folds the halves together; the middle bits of
/// the product depend on every input bit.
#[inline(always)]
fn fold_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Little-endian word at `at` (the caller guarantees 8 bytes are there).
#[inline(always)]
fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Little-endian half word at `at` (the caller guarantees 4 bytes are there).
#[inline(always)]
fn read_u32(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u64::from(u32::from_le_bytes(word))
}

/// Seeded 64-bit hash of a key, in the style of foldhash / rapidhash.
///
/// Keys of up to 16 bytes cost one multiply: two overlapping reads cover
/// every byte, and the length rotates the seed so that e.g. `"aaaa"` and
/// `"aaaaa"` (same words) differ. Longer keys fold 16-byte blocks into the
/// accumulator first. All seed words enter before a multiply, so whether two
/// different keys collide depends on the seed: a retry with a new seed
/// separates them.
#[inline(always)]
fn hash_key(bytes: &[u8], seeds: &HashSeeds) -> u64 {
    let len = bytes.len();
    let mut accumulator = seeds.start.rotate_right(len as u32);
    let (low, high) = if len <= 16 {
        if len >= 8 {
            (read_u64(bytes, 0), read_u64(bytes, len - 8))
        } else if len >= 4 {
            (read_u32(bytes, 0), read_u32(bytes, len - 4))
        } else if len > 0 {
            let (first, middle, last) = (bytes[0], bytes[len / 2], bytes[len - 1]);
            (u64::from(first), u64::from(middle) << 8 | u64::from(last))
        } else {
            (0, 0)
        }
    } else {
        let mut rest = bytes;
        while rest.len() > 16 {
            accumulator = fold_multiply(
                read_u64(rest, 0) ^ accumulator,
                read_u64(rest, 8) ^ seeds.block,
            );
            rest = &rest[16..];
        }
        (read_u64(bytes, len - 16), read_u64(bytes, len - 8))
    };
    fold_multiply(low ^ accumulator, high ^ seeds.last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds, then checks every key maps to its position.
    fn build_and_check<'k>(keys: &[&'k str]) -> PerfectIndex<'k> {
        let index = PerfectIndex::build(keys).expect("keys are distinct");
        assert_eq!(index.len(), keys.len());
        assert_eq!(index.is_empty(), keys.is_empty());
        for (position, key) in keys.iter().enumerate() {
            assert_eq!(index.get(key), Some(position), "key {key:?}");
        }
        index
    }

    /// What `build` must report for `keys`, computed the slow obvious way.
    fn naive_duplicate(keys: &[&str]) -> Option<DuplicateKey> {
        (0..keys.len()).find_map(|second| {
            (0..second)
                .find(|&first| keys[first] == keys[second])
                .map(|first| DuplicateKey { first, second })
        })
    }

    fn is_hashed(index: &PerfectIndex<'_>) -> bool {
        matches!(index.layout, Layout::Hashed(_))
    }

    #[test]
    fn same_bytes_is_equality_at_every_length() {
        for len in 0..40usize {
            let key: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_bytes(&key, &key.clone()), "equal at length {len}");
            for at in 0..len {
                let mut other = key.clone();
                other[at] = b'_';
                assert!(!same_bytes(&key, &other), "byte {at} of {len} differs");
            }
            assert!(!same_bytes(&key, &key[..len.saturating_sub(1)]) || len == 0);
        }
    }

    #[test]
    fn zero_keys() {
        let index = build_and_check(&[]);
        assert!(index.is_empty());
        assert_eq!(index.get(""), None);
        assert_eq!(index.get("fs_read"), None);
    }

    #[test]
    fn one_key() {
        let index = build_and_check(&["fs_read"]);
        assert!(is_hashed(&index));
        assert_eq!(index.get(""), None);
        assert_eq!(index.get("fs_rea"), None);
        assert_eq!(index.get("fs_readx"), None);
        assert_eq!(index.get("fs_reae"), None);
    }

    #[test]
    fn two_keys() {
        let index = build_and_check(&["fs_read", "fs_write"]);
        assert_eq!(index.get("fs_list"), None);
    }

    #[test]
    fn empty_string_key() {
        let index = build_and_check(&[""]);
        assert_eq!(index.get("a"), None);
        let index = build_and_check(&["a", "", "b"]);
        assert_eq!(index.get(""), Some(1));
        assert_eq!(index.get("c"), None);
    }

    #[test]
    fn empty_slots_never_match() {
        // Empty slots hold a copy of key 0; only key 0's own slot may
        // answer for it. Many misses probe every slot of a small table.
        let keys = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"];
        let index = build_and_check(&keys);
        for probe in 0..10_000 {
            assert_eq!(index.get(&format!("miss{probe}")), None);
        }
    }

    #[test]
    fn shared_prefixes() {
        let names: Vec<String> = (0..5_000).map(|n| format!("tool_{n}")).collect();
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let index = build_and_check(&keys);
        for miss in [
            "tool_",
            "tool",
            "tool_5000",
            "tool_-1",
            "tool_00",
            "tool_4999 ",
        ] {
            assert_eq!(index.get(miss), None, "{miss:?}");
        }
    }

    #[test]
    fn long_shared_prefixes() {
        let prefix = "a_rather_long_namespace::with_a_longer_module_path::".repeat(3);
        let names: Vec<String> = (0..2_000).map(|n| format!("{prefix}{n}")).collect();
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let index = build_and_check(&keys);
        assert_eq!(index.get(&format!("{prefix}2000")), None);
        assert_eq!(index.get(&prefix), None);
    }

    #[test]
    fn keys_differing_only_in_last_byte() {
        // Every length from 0 to 40, so each path of the hash and of the
        // comparison sees keys that differ in their final byte only.
        let names: Vec<String> = (0..=40)
            .flat_map(|len| {
                let stem = "x".repeat(len);
                (b'a'..=b'z').map(move |last| format!("{stem}{}", last as char))
            })
            .collect();
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let index = build_and_check(&keys);
        for len in 0..=40 {
            let stem = "x".repeat(len);
            assert_eq!(index.get(&format!("{stem}A")), None);
            assert_eq!(index.get(&format!("{stem}{{")), None);
        }
    }

    #[test]
    fn keys_of_repeated_bytes() {
        // "a", "aa", "aaa", ...: the words read by the hash coincide for
        // neighbouring lengths, only the length tells them apart.
        let names: Vec<String> = (0..=70).map(|len| "a".repeat(len)).collect();
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let index = build_and_check(&keys);
        assert_eq!(index.get(&"a".repeat(71)), None);
    }

    #[test]
    fn unicode_keys() {
        let keys = [
            "héllo",
            "he\u{301}llo", // same text as above, different bytes
            "日本語のツール",
            "🦀",
            "🦀🦀",
            "ツール_読む",
            "Ωmega",
            "\u{0}",
        ];
        let index = build_and_check(&keys);
        assert_eq!(index.get("hello"), None);
        assert_eq!(index.get("日本語"), None);
        assert_eq!(index.get("🦞"), None);
    }

    #[test]
    fn hundred_thousand_keys() {
        let names: Vec<String> = (0..100_000).map(|n| format!("tool_{n:06}")).collect();
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let index = build_and_check(&keys);
        assert!(is_hashed(&index));
        for n in (100_000..101_000).chain([1_000_000, 999_999]) {
            assert_eq!(index.get(&format!("tool_{n:06}")), None);
        }
    }

    #[test]
    fn duplicates_are_reported_with_positions() {
        let cases: [(&[&str], DuplicateKey); 5] = [
            (
                &["a", "a"],
                DuplicateKey {
                    first: 0,
                    second: 1,
                },
            ),
            (
                &["a", "b", "a"],
                DuplicateKey {
                    first: 0,
                    second: 2,
                },
            ),
            // "b" repeats (at 2) before "a" does (at 3).
            (
                &["a", "b", "b", "a"],
                DuplicateKey {
                    first: 1,
                    second: 2,
                },
            ),
            (
                &["x", "", "y", "", ""],
                DuplicateKey {
                    first: 1,
                    second: 3,
                },
            ),
            (
                &["🦀", "crab", "🦀"],
                DuplicateKey {
                    first: 0,
                    second: 2,
                },
            ),
        ];
        for (keys, expected) in cases {
            assert_eq!(PerfectIndex::build(keys).err(), Some(expected), "{keys:?}");
            let sorted = PerfectIndex::build_with_schedule(keys, &[]);
            assert_eq!(sorted.err(), Some(expected), "{keys:?} (fallback)");
        }
    }

    #[test]
    fn many_copies_of_one_key() {
        // One enormous bucket: must be reported, not searched for a pilot.
        let keys = vec!["same"; 50_000];
        let expected = DuplicateKey {
            first: 0,
            second: 1,
        };
        assert_eq!(PerfectIndex::build(&keys).err(), Some(expected));
    }

    #[test]
    fn duplicate_among_many_keys() {
        let mut names: Vec<String> = (0..10_000).map(|n| format!("tool_{n}")).collect();
        names.push("tool_1234".to_owned());
        names.push("tool_42".to_owned());
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let expected = DuplicateKey {
            first: 1234,
            second: 10_000,
        };
        assert_eq!(PerfectIndex::build(&keys).err(), Some(expected));
        assert_eq!(
            expected.to_string(),
            "duplicate key at positions 1234 and 10000"
        );
    }

    #[test]
    fn build_is_deterministic() {
        let names: Vec<String> = (0..3_000).map(|n| format!("tool_{n}")).collect();
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let layout = |index: &PerfectIndex<'_>| match &index.layout {
            Layout::Hashed(table) => (
                table.pilots.to_vec(),
                table
                    .slots
                    .iter()
                    .map(|slot| slot.value)
                    .collect::<Vec<_>>(),
            ),
            Layout::Sorted(_) => panic!("expected the hashed layout"),
        };
        let first = build_and_check(&keys);
        let second = build_and_check(&keys);
        assert_eq!(layout(&first), layout(&second));
    }

    #[test]
    fn sorted_fallback_works() {
        let names: Vec<String> = (0..1_000).map(|n| format!("tool_{n}")).collect();
        let mut keys: Vec<&str> = names.iter().map(String::as_str).collect();
        keys.push("");
        let index = PerfectIndex::build_with_schedule(&keys, &[]).expect("distinct");
        assert!(!is_hashed(&index));
        for (position, key) in keys.iter().enumerate() {
            assert_eq!(index.get(key), Some(position));
        }
        assert_eq!(index.get("tool_1000"), None);
        assert_eq!(index.len(), keys.len());
        assert!(format!("{index:?}").contains("sorted"));
    }

    #[test]
    fn failed_seeds_move_to_the_next_tier() {
        // One bucket of 60 keys in exactly 60 slots: no pilot can do it, so
        // both seeds of the first tier fail and the second tier builds.
        let impossible = Tier {
            seeds: 2,
            load_permille: 1000,
            keys_per_bucket_tenths: 1_000_000,
        };
        let names: Vec<String> = (0..60).map(|n| format!("tool_{n}")).collect();
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let index =
            PerfectIndex::build_with_schedule(&keys, &[impossible, SCHEDULE[2]]).expect("distinct");
        match &index.layout {
            Layout::Hashed(table) => assert_eq!(table.slots.len(), 120),
            Layout::Sorted(_) => panic!("expected the hashed layout"),
        }
        for (position, key) in keys.iter().enumerate() {
            assert_eq!(index.get(key), Some(position));
        }
    }

    #[test]
    fn debug_summarises() {
        let index = build_and_check(&["a", "b", "c"]);
        let text = format!("{index:?}");
        assert!(text.starts_with("PerfectIndex { len: 3, slots: "), "{text}");
    }

    #[test]
    fn hash_depends_on_every_byte_and_the_length() {
        let seeds = HashSeeds::for_attempt(0);
        let mut seen = std::collections::HashSet::new();
        for len in 0..=48 {
            let base = vec![b'k'; len];
            assert!(seen.insert(hash_key(&base, &seeds)), "length {len}");
            for at in 0..len {
                let mut changed = base.clone();
                changed[at] ^= 1;
                assert!(
                    seen.insert(hash_key(&changed, &seeds)),
                    "length {len}, byte {at}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn random_sets_hit_and_miss(
            keys in proptest::collection::hash_set(".{0,40}", 0..400),
            probes in proptest::collection::vec(".{0,40}", 0..200),
        ) {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let index = PerfectIndex::build(&keys).expect("a set has no duplicates");
            prop_assert_eq!(index.len(), keys.len());
            for (position, key) in keys.iter().enumerate() {
                prop_assert_eq!(index.get(key), Some(position));
            }
            for probe in &probes {
                let expected = keys.iter().position(|key| key == probe);
                prop_assert_eq!(index.get(probe), expected);
            }
        }

        #[test]
        fn near_identical_keys(
            // A two-letter alphabet makes keys share most of their bytes.
            keys in proptest::collection::hash_set("[ab]{0,24}", 0..300),
            probes in proptest::collection::vec("[ab]{0,24}", 0..200),
        ) {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let index = PerfectIndex::build(&keys).expect("a set has no duplicates");
            for (position, key) in keys.iter().enumerate() {
                prop_assert_eq!(index.get(key), Some(position));
            }
            for probe in &probes {
                prop_assert_eq!(index.get(probe), keys.iter().position(|key| key == probe));
            }
        }

        #[test]
        fn duplicates_match_the_naive_answer(
            keys in proptest::collection::vec("[a-c]{0,3}", 0..40),
        ) {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let expected = naive_duplicate(&keys);
            prop_assert_eq!(PerfectIndex::build(&keys).err(), expected);
            prop_assert_eq!(PerfectIndex::build_with_schedule(&keys, &[]).err(), expected);
            if expected.is_none() {
                let index = PerfectIndex::build(&keys).expect("checked above");
                for (position, key) in keys.iter().enumerate() {
                    prop_assert_eq!(index.get(key), Some(position));
                }
            }
        }

        #[test]
        fn sorted_fallback_agrees(
            keys in proptest::collection::hash_set(".{0,12}", 0..100),
            probes in proptest::collection::vec(".{0,12}", 0..50),
        ) {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let index = PerfectIndex::build_with_schedule(&keys, &[]).expect("a set has no duplicates");
            for (position, key) in keys.iter().enumerate() {
                prop_assert_eq!(index.get(key), Some(position));
            }
            for probe in &probes {
                prop_assert_eq!(index.get(probe), keys.iter().position(|key| key == probe));
            }
        }
    }
}
