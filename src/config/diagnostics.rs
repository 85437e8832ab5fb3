//! Errors that point at the config file: the line they are about (a
//! [`SpanError`] carries the byte range), the table a key sits in, and a
//! "did you mean" for a misspelt key or name.

/// A configuration error with the byte range it is about, when known.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanError {
    pub span: Option<std::ops::Range<usize>>,
    pub message: String,
}

impl SpanError {
    pub(super) fn at(span: std::ops::Range<usize>, message: impl Into<String>) -> SpanError {
        SpanError {
            span: Some(span),
            message: message.into(),
        }
    }

    /// 1-based line of the error in `text`.
    pub fn line(&self, text: &str) -> Option<usize> {
        let start = self.span.as_ref()?.start.min(text.len());
        Some(text[..start].matches('\n').count() + 1)
    }
}

impl std::fmt::Display for SpanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Byte range of the `[header]` line for `dotted` (e.g. `profiles.x.pool`).
pub(super) fn find_header(text: &str, dotted: &str) -> Option<std::ops::Range<usize>> {
    // Compared without whitespace and quotes: `[profiles."a b"]` is found.
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
            .collect()
    };
    let want = squash(&format!("[{dotted}]"));
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if squash(line.split('#').next().unwrap_or("")) == want {
            return Some(offset..offset + line.len());
        }
        offset += line.len();
    }
    None
}

/// The table a byte offset sits in: the last `[header]` or `[[header]]`
/// at or before it.
pub(super) fn table_at(text: &str, offset: usize) -> Option<String> {
    // The line the offset is on counts: an array-of-tables entry's errors
    // point at its own header.
    let end = text[offset.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| offset.min(text.len()) + i);
    text[..end].lines().rev().find_map(|l| {
        let t = l.split('#').next().unwrap_or("").trim();
        let name = match t.strip_prefix("[[") {
            // Not a line of a nested array such as `[[1, 2], [3]]`.
            Some(rest) => rest.strip_suffix("]]")?,
            None => t.strip_prefix('[')?.strip_suffix(']')?,
        };
        let header = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-. \"'".contains(c));
        (header && !name.trim().is_empty()).then(|| name.trim().to_string())
    })
}

/// toml's error as one line, with a suggestion for a misspelt key.
pub(super) fn explain_toml_error(e: &toml::de::Error, text: &str) -> SpanError {
    let msg = e.message().trim().replace('\n', " ");
    let span = e.span();
    let table = span
        .as_ref()
        .and_then(|s| table_at(text, s.start))
        .map(|t| format!(" in [{t}]"))
        .unwrap_or_default();
    if let Some(rest) = msg.strip_prefix("unknown field `")
        && let Some((key, expected)) = rest.split_once('`')
    {
        let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = match nearest(key, valid.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("valid keys: {}", valid.join(", ")),
        };
        return SpanError {
            span,
            message: format!("unknown key `{key}`{table}; {hint}"),
        };
    }
    // A bad value: name the key written on the error's line.
    let key = span
        .as_ref()
        .and_then(|s| {
            let start = text[..s.start.min(text.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            text[start..].lines().next()
        })
        .and_then(|line| line.split_once('='))
        .map(|(k, _)| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .map(|k| format!("key `{k}`{table}: "));
    match key {
        Some(k) => SpanError {
            span,
            message: format!("{k}{msg}"),
        },
        None => SpanError {
            span,
            message: format!("{msg}{table}"),
        },
    }
}

/// The candidate closest to `word`, if it is close enough to be what was
/// meant (at most half the word's length in edits).
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 2).max(2);
    candidates
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
