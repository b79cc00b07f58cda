//! Display names: what a participant may call themselves.

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Trims a display name and checks it: 1–64 characters, no control characters (they could forge
/// line breaks in other people's lists, or hide text).
pub fn validate_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("a name is required".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("a name is at most {MAX_NAME_CHARS} characters"));
    }
    if name
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        return Err("a name cannot contain control or invisible characters".into());
    }
    Ok(name.to_owned())
}

/// Bidirectional marks, overrides and isolates, and zero-width characters: legal Unicode, but they let a name pose as
/// another one.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass_trimmed() {
        assert_eq!(validate_name("  Zoé Müller "), Ok("Zoé Müller".into()));
        assert_eq!(validate_name("李雷"), Ok("李雷".into()));
    }

    #[test]
    fn empty_long_and_control_names_are_refused() {
        assert!(validate_name("   ").is_err());
        assert!(validate_name(&"a".repeat(65)).is_err());
        assert!(validate_name(&"é".repeat(64)).is_ok());
        assert!(validate_name("Ada\nTeacher").is_err());
        assert!(validate_name("Ada\u{202E}rehcaeT").is_err());
    }

    #[test]
    fn every_bidi_and_zero_width_trick_is_refused() {
        for c in [
            '\u{061C}', '\u{200B}', '\u{200E}', '\u{202A}', '\u{2060}', '\u{2066}', '\u{2069}',
            '\u{FEFF}',
        ] {
            assert!(
                validate_name(&format!("Ada{c}Lovelace")).is_err(),
                "U+{:04X}",
                c as u32
            );
        }
        assert!(validate_name("\u{200B}").is_err(), "only invisible");
        assert!(validate_name("\t\n ").is_err(), "only whitespace");
        assert!(validate_name("Ada\tLovelace").is_err(), "tab inside");
    }

    #[test]
    fn surrounding_spaces_do_not_count_toward_the_limit() {
        let name = format!("  {}  ", "a".repeat(MAX_NAME_CHARS));
        assert_eq!(validate_name(&name).map(|n| n.len()), Ok(MAX_NAME_CHARS));
    }
}
