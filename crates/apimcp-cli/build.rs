//! Links the binary with its functions in the order of `symbol-order.txt` (made by
//! `scripts/symbol-order.sh`): the code that start-up, a session and a call run comes first and
//! together, so an idle server maps a few hundred KB of its code instead of most of it. Names
//! the file does not match (another profile, changed code) keep the default order.

fn main() {
    println!("cargo::rerun-if-changed=symbol-order.txt");
    // rustc links with its own lld on this target; other linkers may not take the option.
    if std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={dir}/symbol-order.txt");
        println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
