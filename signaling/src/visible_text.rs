//! One rule for text that others see (display names and chat): what is written is what shows.
//!
//! Refused everywhere: control characters (but line breaks and tabs in chat), format characters
//! (zero-width spaces and joiners, bidi marks, overrides and isolates, the BOM, tag characters:
//! Unicode general category Cf), private-use, unassigned and surrogate code points, line and
//! paragraph separators, and the default-ignorable letters that render as nothing (the Hangul
//! fillers U+115F, U+1160, U+3164, U+FFA0, the Khmer inherent vowels, Mongolian selectors, the
//! combining grapheme joiner) and the blank-looking braille pattern U+2800. Two joiners that emoji
//! need are kept where they join something visible: a variation selector right after a visible
//! character (❤️) and a zero-width joiner between two (👩‍💻). Long runs of combining marks
//! ("Zalgo" text spilling over other lines) are refused too.
//!
//! The general category comes from a maintained crate (`unicode-general-category`, following the
//! Unicode version), so new format characters are covered when it is updated.

use unicode_general_category::{get_general_category, GeneralCategory as Gc};

/// Most combining marks in a row (Vietnamese needs two; five is already a tower).
const MAX_MARKS_IN_A_ROW: usize = 4;

/// What the text is for: names are one line, chat may break lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Name,
    Chat,
}

/// Why a text was refused, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A character others would not see, or that would change how the text around it shows.
    Hidden(char),
    /// Too many combining marks stacked on one letter.
    Stacked,
    /// Nothing visible at all (only spaces and marks).
    Blank,
}

impl Problem {
    /// A sentence for people, naming the character's code point (never the text).
    pub fn describe(self, what: &str) -> String {
        match self {
            Problem::Hidden(c) => format!(
                "{what} cannot contain invisible or control characters (U+{:04X})",
                u32::from(c)
            ),
            Problem::Stacked => {
                format!("{what} cannot stack more than {MAX_MARKS_IN_A_ROW} accents on one letter")
            }
            Problem::Blank => format!("{what} must contain something visible"),
        }
    }
}

/// Checks `text` (already trimmed) for `usage`.
pub fn check(text: &str, usage: Use) -> Result<(), Problem> {
    let chars: Vec<char> = text.chars().collect();
    let mut marks = 0;
    let mut visible = false;
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        if is_hidden(c, usage) && !joins_visible(c, before, after) {
            return Err(Problem::Hidden(c));
        }
        if is_mark(c) {
            marks += 1;
            if marks > MAX_MARKS_IN_A_ROW {
                return Err(Problem::Stacked);
            }
        } else {
            marks = 0;
        }
        visible |= shows(c);
    }
    if visible {
        Ok(())
    } else {
        Err(Problem::Blank)
    }
}

/// Characters that show nothing, or change how others show.
fn is_hidden(c: char, usage: Use) -> bool {
    if usage == Use::Chat && matches!(c, '\n' | '\t') {
        return false;
    }
    matches!(
        get_general_category(c),
        Gc::Control
            | Gc::Format
            | Gc::Surrogate
            | Gc::PrivateUse
            | Gc::Unassigned
            | Gc::LineSeparator
            | Gc::ParagraphSeparator
    ) || is_blank_letter(c)
        || is_variation_selector(c)
}

/// Default-ignorable code points that are not format characters (they are letters or marks,
/// yet render as nothing), and the braille blank.
fn is_blank_letter(c: char) -> bool {
    matches!(
        c,
        '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'
            ..='\u{180F}' | '\u{2800}' | '\u{3164}' | '\u{FFA0}'
    )
}

fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// A variation selector after a visible character, or a zero-width joiner between two: how
/// emoji are written, so allowed there and nowhere else.
fn joins_visible(c: char, before: Option<char>, after: Option<char>) -> bool {
    let shown = |c: Option<char>| c.is_some_and(shows);
    match c {
        '\u{200D}' => shown(before) && shown(after),
        c if is_variation_selector(c) => shown(before),
        _ => false,
    }
}

fn is_mark(c: char) -> bool {
    matches!(
        get_general_category(c),
        Gc::NonspacingMark | Gc::EnclosingMark | Gc::SpacingMark
    )
}

/// Whether `c` puts ink on the screen by itself.
fn shows(c: char) -> bool {
    !c.is_whitespace() && !is_mark(c) && !is_hidden(c, Use::Name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str, usage: Use) -> Option<Problem> {
        check(text, usage).err()
    }

    #[test]
    fn ordinary_text_in_any_script_passes() {
        for text in [
            "Zoé Müller",
            "李雷",
            "Nguyễn Thị Minh Khai",
            "محمد",
            "Ольга",
            "a\u{00A0}b",
            "中\u{3000}文",
            "❤\u{FE0F}",
            "👩\u{200D}💻",
        ] {
            assert_eq!(refused(text, Use::Name), None, "{text:?}");
            assert_eq!(refused(text, Use::Chat), None, "{text:?}");
        }
        assert_eq!(refused("line\nbreak\tand tab", Use::Chat), None);
    }

    #[test]
    fn every_invisible_class_is_refused_in_names_and_chat() {
        let hidden = [
            ('\u{0007}', "control"),
            ('\u{0085}', "next line (C1 control)"),
            ('\u{00AD}', "soft hyphen (Cf)"),
            ('\u{061C}', "Arabic letter mark"),
            ('\u{115F}', "Hangul choseong filler"),
            ('\u{1160}', "Hangul jungseong filler"),
            ('\u{3164}', "Hangul filler"),
            ('\u{FFA0}', "halfwidth Hangul filler"),
            ('\u{17B4}', "Khmer inherent vowel"),
            ('\u{180E}', "Mongolian vowel separator"),
            ('\u{200B}', "zero-width space"),
            ('\u{200C}', "zero-width non-joiner"),
            ('\u{200E}', "left-to-right mark"),
            ('\u{2028}', "line separator"),
            ('\u{2029}', "paragraph separator"),
            ('\u{202E}', "right-to-left override"),
            ('\u{2060}', "word joiner"),
            ('\u{2066}', "left-to-right isolate"),
            ('\u{2800}', "braille blank"),
            ('\u{FEFF}', "byte order mark"),
            ('\u{E000}', "private use"),
            ('\u{E0041}', "tag latin capital A"),
            ('\u{E007F}', "cancel tag"),
            ('\u{0378}', "unassigned"),
        ];
        for (c, what) in hidden {
            let text = format!("Ada{c}Lovelace");
            assert_eq!(
                refused(&text, Use::Name),
                Some(Problem::Hidden(c)),
                "{what}"
            );
            assert_eq!(
                refused(&text, Use::Chat),
                Some(Problem::Hidden(c)),
                "{what}"
            );
        }
        assert!(
            refused("Ada\nLovelace", Use::Name).is_some(),
            "names are one line"
        );
        assert!(refused("Ada\tLovelace", Use::Name).is_some());
    }

    #[test]
    fn joiners_pass_only_between_visible_characters() {
        for text in [
            "\u{FE0F}",
            " \u{FE0F}",
            "a\u{200D}",
            "\u{200D}a",
            "a \u{200D} b",
            "\u{E0100}",
        ] {
            assert!(refused(text, Use::Name).is_some(), "{text:?}");
        }
    }

    #[test]
    fn blank_looking_text_is_refused() {
        for text in [
            "\u{3164}",
            "\u{3164}\u{3164}",
            "\u{0301}",
            "\u{00A0}",
            "\u{3000}",
            "\u{2800}",
        ] {
            assert!(refused(text, Use::Name).is_some(), "{text:?}");
            assert!(refused(text, Use::Chat).is_some(), "{text:?}");
        }
        assert_eq!(refused("\u{0301}\u{0301}", Use::Name), Some(Problem::Blank));
    }

    #[test]
    fn stacked_accents_are_refused() {
        assert_eq!(refused("e\u{0301}\u{0302}", Use::Name), None);
        let zalgo = format!("Z{}algo", "\u{0300}\u{0301}\u{0302}\u{0303}\u{0304}");
        assert_eq!(refused(&zalgo, Use::Name), Some(Problem::Stacked));
        assert_eq!(refused(&zalgo, Use::Chat), Some(Problem::Stacked));
    }

    #[test]
    fn problems_name_the_code_point_not_the_text() {
        let message = Problem::Hidden('\u{3164}').describe("a name");
        assert!(message.contains("U+3164"), "{message}");
    }
}
