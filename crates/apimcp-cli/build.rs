//! Links the binary with its functions in the order of `symbol-order.txt` (made by
//! `scripts/symbol-order.sh`): the code that start-up, a session and a call run comes first and
//! together, so an idle server maps about 1.4 MB of its code instead of about 6 MB. Names the
//! file does not match (another profile, changed code) keep the default order.

fn main() {
    println!("cargo::rerun-if-changed=symbol-order.txt");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    if links_with_rust_lld() {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={dir}/symbol-order.txt");
        println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// rustc links with its own lld on this target unless told otherwise; another linker may not
/// know the option.
fn links_with_rust_lld() -> bool {
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu")
        && std::env::var_os("RUSTC_LINKER").is_none()
        && !flags.contains("linker")
}
