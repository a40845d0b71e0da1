//! `ModelTurns`: the `model` backend's conversations, kept per session (a model has no session
//! of its own), and read back within a character budget, newest turns kept first.

use std::time::SystemTime;

/// One answered turn: what the user turn said (the prompt sent) and the model's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    pub question: String,
    pub answer: String,
}

impl Turn {
    /// Its size against the budget: both texts, in characters.
    pub fn chars(&self) -> usize {
        self.question.chars().count() + self.answer.chars().count()
    }
}

/// Where the turns are kept.
pub trait ModelTurns: Send + Sync + 'static {
    /// The session's latest turns that fit in `max_chars` together, oldest first: read newest
    /// first, stopping at the first that no longer fits (so the oldest are dropped first, and
    /// what is sent is always whole user/assistant pairs).
    fn recent_turns(&self, session_id: &str, max_chars: usize) -> anyhow::Result<Vec<Turn>>;
    /// Adds an answered turn to the session.
    fn add_turn(&self, session_id: &str, turn: &Turn, at: SystemTime) -> anyhow::Result<()>;
}

/// The newest turns (given newest first) that fit in `max_chars`, returned oldest first.
pub fn keep_within(newest_first: impl IntoIterator<Item = Turn>, max_chars: usize) -> Vec<Turn> {
    let mut used = 0;
    let mut kept = Vec::new();
    for turn in newest_first {
        used += turn.chars();
        if used > max_chars {
            break;
        }
        kept.push(turn);
    }
    kept.reverse();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(q: &str, a: &str) -> Turn {
        Turn {
            question: q.into(),
            answer: a.into(),
        }
    }

    #[test]
    fn the_oldest_turns_go_first_and_pairs_stay_whole() {
        let newest_first = vec![turn("q3", "a3"), turn("q2", "a2"), turn("q1", "a1")];
        assert_eq!(
            keep_within(newest_first.clone(), 8),
            [turn("q2", "a2"), turn("q3", "a3")]
        );
        assert_eq!(keep_within(newest_first.clone(), 12).len(), 3);
        assert_eq!(keep_within(newest_first.clone(), 3), []);
        assert_eq!(keep_within(newest_first, 0), []);
        // A long old turn stops the reading: nothing older than it is sent either.
        let gap = vec![
            turn("q3", "a3"),
            turn(&"x".repeat(50), "a2"),
            turn("q1", "a1"),
        ];
        assert_eq!(keep_within(gap, 20), [turn("q3", "a3")]);
    }
}
