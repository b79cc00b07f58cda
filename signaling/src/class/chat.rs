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

/// Checks a chat message: trimmed, 1–2,000 characters, no control characters but line breaks and
/// tabs, no invisible direction overrides (they could disguise a message as someone else's).
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
    let bad = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if text.chars().any(bad) {
        return Err("a chat message cannot contain control characters".into());
    }
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
    }
}
