//! `apimcp-bench symbol-order OBJECT DUMP...`: the functions of OBJECT that ran, read from
//! callgrind dumps (one per phase, in phase order), each named once, in the order the phases
//! first ran them. `scripts/symbol-order.sh` turns this into the linker's symbol order.

use std::collections::{HashMap, HashSet};

use anyhow::Context;

/// Names of the functions with a cost in `dumps` whose object file path ends with `object`.
pub(crate) fn functions_run(object: &str, dumps: &[String]) -> String {
    // Callgrind writes `fn=name`, or, compressing, names each object and function once, as
    // `ob=(3) /path` or `fn=(12) name`, and then only by number, across the dumps of one run.
    let mut names = Names::default();
    let mut listed = HashSet::new();
    let mut out = String::new();
    for dump in dumps {
        let mut in_object = false;
        for line in dump.lines() {
            let Some((key, rest)) = line.split_once('=') else {
                continue;
            };
            match key {
                "ob" => in_object = names.object(rest).ends_with(object),
                "cob" => _ = names.object(rest),
                "cfn" => _ = names.function(rest),
                "fn" => {
                    let name = names.function(rest);
                    if in_object && is_symbol(&name) && listed.insert(name.clone()) {
                        out.push_str(&name);
                        out.push('\n');
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The `symbol-order` command.
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let (object, paths) = args.split_first().context("usage: symbol-order OBJECT DUMP...")?;
    let dumps = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {p}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    print!("{}", functions_run(object, &dumps));
    Ok(())
}

#[derive(Default)]
struct Names {
    objects: HashMap<String, String>,
    functions: HashMap<String, String>,
}

impl Names {
    fn object(&mut self, entry: &str) -> String {
        resolve(&mut self.objects, entry)
    }

    fn function(&mut self, entry: &str) -> String {
        // `name'2` is the second level of a recursion of `name`.
        let name = resolve(&mut self.functions, entry);
        name.split('\'').next().unwrap_or_default().to_owned()
    }
}

/// `(12) name` defines number 12; `(12)` refers to it.
fn resolve(table: &mut HashMap<String, String>, entry: &str) -> String {
    let Some((id, name)) = entry.strip_prefix('(').and_then(|e| e.split_once(')')) else {
        return entry.to_owned();
    };
    let name = name.trim();
    if name.is_empty() {
        table.get(id).cloned().unwrap_or_default()
    } else {
        table.insert(id.to_owned(), name.to_owned());
        name.to_owned()
    }
}

/// A linker symbol (callgrind also lists `(below main)` and unnamed code).
fn is_symbol(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.$".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_each_function_of_the_object_once_in_phase_order() {
        let first = "ob=(1) /lib/libc.so.6\nfn=(1) memcpy\n1 2\nob=(2) /bin/apimcp\nfn=(2) _ZN4main\n\
                     cob=(1)\ncfn=(3) _ZN5later\ncalls=1 0\nfn=(4) recurse'2\n1 1\n";
        let second = "ob=(2)\nfn=(3)\n1 1\nfn=(2)\n1 1\nfn=(5) (below main)\nob=(1)\nfn=(6) free\n";
        let uncompressed = "ob=/bin/apimcp\nfn=_ZN5serve\n1 1\nob=/lib/libc.so.6\nfn=malloc\n";
        let dumps = [first, second, uncompressed].map(str::to_owned);
        let listed = functions_run("/apimcp", &dumps);
        assert_eq!(listed, "_ZN4main\nrecurse\n_ZN5later\n_ZN5serve\n");
    }
}
