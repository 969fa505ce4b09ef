//! Command-line arguments of the bench helpers.

/// The positional arguments (`cargo bench` adds `--bench`, which means nothing here).
pub fn positional() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect()
}
