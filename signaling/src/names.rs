//! Display names: what a participant may call themselves.

use crate::protocol::Role;
use crate::visible_text::{self, Use};

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The words the web client shows as role badges (every catalogue, folded): a pupil named with
/// one of them could pass for a teacher in a list of names.
const ROLE_WORDS: [&str; 6] = [
    "teacher",
    "enseignant",
    "enseignante",
    "observer",
    "observateur",
    "observatrice",
];

/// Trims a display name and checks it: 1–64 characters, something visible, nothing hidden
/// (the rule shared with chat: `visible_text`).
pub fn validate_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("a name is required".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("a name is at most {MAX_NAME_CHARS} characters"));
    }
    visible_text::check(name, Use::Name).map_err(|p| p.describe("a name"))?;
    Ok(name.to_owned())
}

/// Whether someone entering as `role` may show `name`: only teachers may carry a role badge's
/// word in their name. The badge itself is drawn by the client from the role the server gives,
/// never from the name, so this only keeps lists of names from misleading.
pub fn check_role_words(name: &str, role: Role) -> Result<(), String> {
    if role == Role::Teacher {
        return Ok(());
    }
    let folded = fold(name);
    let poses = folded
        .split(|c: char| !c.is_alphanumeric())
        .any(|word| ROLE_WORDS.contains(&word));
    if poses {
        return Err(
            "a name cannot contain a role such as \"teacher\" or \"enseignant\": \
                    the class shows everyone's role beside their name"
                .into(),
        );
    }
    Ok(())
}

/// Lower case without the accents French uses, so "ENSEIGNANTE" and "Énseignante" match.
fn fold(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            c => c,
        })
        .collect()
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
    fn every_bidi_zero_width_and_blank_trick_is_refused() {
        for c in [
            '\u{061C}',
            '\u{200B}',
            '\u{200E}',
            '\u{202A}',
            '\u{2060}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{3164}',
            '\u{115F}',
            '\u{1160}',
            '\u{E0041}',
        ] {
            assert!(
                validate_name(&format!("Ada{c}Lovelace")).is_err(),
                "U+{:04X}",
                c as u32
            );
        }
        assert!(validate_name("\u{200B}").is_err(), "only invisible");
        assert!(
            validate_name("\u{3164}").is_err(),
            "a Hangul filler alone looks blank"
        );
        assert!(validate_name("\u{115F}\u{1160}").is_err());
        assert!(validate_name("\t\n ").is_err(), "only whitespace");
        assert!(validate_name("Ada\tLovelace").is_err(), "tab inside");
    }

    #[test]
    fn only_teachers_carry_a_role_word() {
        for name in [
            "Teacher",
            "teacher",
            "Mr Smith (Teacher)",
            "ENSEIGNANTE",
            "Énseignant Dupont",
            "Observer-1",
        ] {
            assert!(check_role_words(name, Role::Pupil).is_err(), "{name}");
            assert!(check_role_words(name, Role::Observer).is_err(), "{name}");
            assert!(check_role_words(name, Role::Teacher).is_ok(), "{name}");
        }
        for name in ["Teachers' pet", "Prof Ada", "Zoé", "Enseignement"] {
            assert!(check_role_words(name, Role::Pupil).is_ok(), "{name}");
        }
    }

    #[test]
    fn surrounding_spaces_do_not_count_toward_the_limit() {
        let name = format!("  {}  ", "a".repeat(MAX_NAME_CHARS));
        assert_eq!(validate_name(&name).map(|n| n.len()), Ok(MAX_NAME_CHARS));
    }
}
