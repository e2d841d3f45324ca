//! What every benchmark reports the same way: repetitions from RUNS, the median of them.

/// RUNS from the environment, else `default`.
pub fn runs(default: usize) -> usize {
    std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}
