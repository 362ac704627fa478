//! The `apimcp` command.
fn main() {}
