//! The class chat: messages numbered by the server, the last few kept in memory for newcomers and
//! for replay to a participant that reconnects. Nothing here is ever logged.

use std::collections::VecDeque;

use crate::protocol::ChatEntry;

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;

/// A bounded, numbered chat history.
#[derive(Debug, Clone)]
pub struct ChatLog {
    entries: VecDeque<ChatEntry>,
    capacity: usize,
    next_seq: u64,
}

impl ChatLog {
    /// A log keeping the last `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        ChatLog {
            entries: VecDeque::new(),
            capacity,
            next_seq: 1,
        }
    }

    /// Numbers and stores a message; returns it as sent to everyone.
    pub fn push(&mut self, from: String, name: String, text: String) -> ChatEntry {
        let entry = ChatEntry {
            seq: self.next_seq,
            from,
            name,
            text,
        };
        self.next_seq += 1;
        if self.capacity == 0 {
            return entry;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry.clone());
        entry
    }

    /// Every kept message after `seq` (all of them for 0), oldest first.
    pub fn since(&self, seq: u64) -> Vec<ChatEntry> {
        self.entries
            .iter()
            .filter(|e| e.seq > seq)
            .cloned()
            .collect()
    }
}

/// Checks a chat message: trimmed, 1–2,000 characters, and the rule of visible text shared
/// with names (`visible_text`): line breaks and tabs, but nothing hidden (no zero-width, bidi,
/// BOM or tag characters: they could disguise a message as someone else's).
pub fn validate_text(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("a chat message cannot be empty".into());
    }
    if text.chars().count() > MAX_CHAT_CHARS {
        return Err(format!(
            "a chat message is at most {MAX_CHAT_CHARS} characters"
        ));
    }
    crate::visible_text::check(text, crate::visible_text::Use::Chat)
        .map_err(|p| p.describe("a chat message"))?;
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_numbered_and_the_oldest_go_first() {
        let mut log = ChatLog::new(2);
        for i in 0..3 {
            log.push("p1".into(), "A".into(), format!("m{i}"));
        }
        let kept = log.since(0);
        assert_eq!(kept.len(), 2);
        assert_eq!((kept[0].seq, kept[1].seq), (2, 3));
        assert_eq!(log.since(2).len(), 1);
        assert!(log.since(3).is_empty());
    }

    #[test]
    fn texts_are_checked() {
        assert_eq!(validate_text("  hi\nthere "), Ok("hi\nthere".into()));
        assert!(validate_text("  ").is_err());
        assert!(validate_text(&"a".repeat(MAX_CHAT_CHARS + 1)).is_err());
        assert!(validate_text(&"é".repeat(MAX_CHAT_CHARS)).is_ok());
        assert!(validate_text("a\u{7}b").is_err());
        assert!(validate_text("a\u{202E}b").is_err());
        for hidden in ['\u{200B}', '\u{2066}', '\u{FEFF}', '\u{E0041}', '\u{3164}'] {
            assert!(validate_text(&format!("a{hidden}b")).is_err(), "{hidden:?}");
        }
        assert!(validate_text("\u{3164}").is_err(), "blank-looking");
        assert!(
            validate_text("👩\u{200D}💻 ❤\u{FE0F}").is_ok(),
            "emoji keep their joiners"
        );
    }
}
