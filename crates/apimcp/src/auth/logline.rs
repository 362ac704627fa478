//! What the auth layer writes to the log about requests: values that came from a request are
//! escaped (no forged lines, no terminal escape codes) and cut short, and refusals of tokens
//! are rate-limited, so an unauthenticated flood cannot flood the log too.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most characters of a request's value that reach the log.
const MAX_SHOWN: usize = 120;
/// The most refusal lines per [`WINDOW`]; the rest are counted and summed up in one line.
const MAX_LINES: u32 = 10;
/// The rate limit's window.
const WINDOW: Duration = Duration::from_secs(1);

/// `text`, from a request, as it may appear in a log line or an error description: control
/// characters, quotes and backslashes escaped, and at most [`MAX_SHOWN`] characters.
pub(crate) fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_SHOWN).flat_map(char::escape_debug).collect();
    if text.chars().nth(MAX_SHOWN).is_some() {
        out.push('…');
    }
    out
}

struct Window {
    start: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

static REFUSALS: Mutex<Window> = Mutex::new(Window {
    start: None,
    logged: 0,
    suppressed: 0,
});

/// Logs a refused token (the reason is built by the verifiers, with request values passed
/// through [`shown`]), at most [`MAX_LINES`] a second.
pub(crate) fn refused_token(reason: &str) {
    match admit(&REFUSALS, Instant::now()) {
        Admit::Log { suppressed: 0 } => tracing::info!(reason = %shown(reason), "refused a bearer token"),
        Admit::Log { suppressed } => {
            tracing::info!(reason = %shown(reason), suppressed, "refused a bearer token (and others not logged)");
        }
        Admit::Skip => {}
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Admit {
    /// Log this one, saying how many the last window left out.
    Log {
        suppressed: u64,
    },
    Skip,
}

fn admit(window: &Mutex<Window>, now: Instant) -> Admit {
    let mut w = window.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut suppressed = 0;
    if w.start.is_none_or(|s| now.duration_since(s) >= WINDOW) {
        suppressed = std::mem::take(&mut w.suppressed);
        w.start = Some(now);
        w.logged = 0;
    }
    if w.logged < MAX_LINES {
        w.logged += 1;
        Admit::Log { suppressed }
    } else {
        w.suppressed += 1;
        Admit::Skip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_values_are_escaped_and_bounded() {
        assert_eq!(
            shown("RS256\n2026 INFO forged\u{1b}[31m"),
            "RS256\\n2026 INFO forged\\u{1b}[31m"
        );
        let long = shown(&"a".repeat(10_000));
        assert_eq!(long.chars().count(), MAX_SHOWN + 1);
    }

    #[test]
    fn refusals_are_logged_at_a_bounded_rate_and_counted() {
        let window = Mutex::new(Window {
            start: None,
            logged: 0,
            suppressed: 0,
        });
        let t0 = Instant::now();
        let logged = (0..1000).filter(|_| admit(&window, t0) != Admit::Skip).count();
        assert_eq!(logged, MAX_LINES as usize);
        assert_eq!(admit(&window, t0 + WINDOW), Admit::Log { suppressed: 990 });
        assert_eq!(admit(&window, t0 + WINDOW), Admit::Log { suppressed: 0 });
    }
}
