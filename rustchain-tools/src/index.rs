//! PLACEHOLDER: replaced by the perfect-hash index.
/// Two equal keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateKey {
    /// first
    pub first: usize,
    /// second
    pub second: usize,
}
/// Placeholder index.
pub struct PerfectIndex<'k> {
    keys: Vec<(&'k str, usize)>,
}
impl<'k> PerfectIndex<'k> {
    /// Build.
    pub fn build(keys: &[&'k str]) -> Result<Self, DuplicateKey> {
        let mut v: Vec<(&str, usize)> = keys.iter().copied().zip(0..).collect();
        v.sort();
        for w in v.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(DuplicateKey {
                    first: w[0].1,
                    second: w[1].1,
                });
            }
        }
        Ok(PerfectIndex { keys: v })
    }
    /// Get.
    pub fn get(&self, key: &str) -> Option<usize> {
        self.keys
            .binary_search_by(|(k, _)| (*k).cmp(key))
            .ok()
            .map(|i| self.keys[i].1)
    }
    /// Len.
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    /// Empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
