//! The tokens the fake Web API accepts, and rotating them: a replaced token is revoked (`token_revoked`), as when a workspace admin rotates or revokes one.

use std::collections::HashSet;

use crate::slack::options::FakeSlackOptions;
use crate::slack::record::AuthKind;
use crate::slack::timeline::{lock, TimelineKind};
use crate::slack::FakeSlack;

/// The bot and app-level tokens accepted now, and the ones rotated away.
#[derive(Debug)]
pub(crate) struct Tokens {
    bot: String,
    app: String,
    revoked: HashSet<String>,
}

impl Tokens {
    pub(crate) fn new(opts: &FakeSlackOptions) -> Self {
        Self {
            bot: opts.bot_token.clone(),
            app: opts.app_token.clone(),
            revoked: HashSet::new(),
        }
    }

    /// Which credential `token` is (the token itself is not kept).
    pub(crate) fn classify(&self, token: Option<&str>) -> AuthKind {
        match token {
            None | Some("") => AuthKind::Missing,
            Some(token) if token == self.bot => AuthKind::Bot,
            Some(token) if token == self.app => AuthKind::App,
            Some(token) if self.revoked.contains(token) => AuthKind::Revoked,
            Some(_) => AuthKind::Unknown,
        }
    }
}

impl FakeSlack {
    /// The bot token accepted now (the options' one until rotated).
    pub fn bot_token(&self) -> String {
        lock(&self.shared.tokens).bot.clone()
    }

    /// The app-level token accepted now (the options' one until rotated).
    pub fn app_token(&self) -> String {
        lock(&self.shared.tokens).app.clone()
    }

    /// From now on only `new` is the bot token; the old one answers `token_revoked`.
    pub fn rotate_bot_token(&self, new: &str) {
        let mut tokens = lock(&self.shared.tokens);
        let old = std::mem::replace(&mut tokens.bot, new.to_owned());
        tokens.revoked.insert(old);
        drop(tokens);
        let text = "the bot token was rotated: the old one is revoked".to_owned();
        self.shared.note(TimelineKind::Fault, text);
    }

    /// From now on only `new` is the app-level token; the old one answers `token_revoked`.
    pub fn rotate_app_token(&self, new: &str) {
        let mut tokens = lock(&self.shared.tokens);
        let old = std::mem::replace(&mut tokens.app, new.to_owned());
        tokens.revoked.insert(old);
        drop(tokens);
        let text = "the app-level token was rotated: the old one is revoked".to_owned();
        self.shared.note(TimelineKind::Fault, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_classified_without_being_kept() {
        let mut tokens = Tokens::new(&FakeSlackOptions::default());
        assert_eq!(tokens.classify(None), AuthKind::Missing);
        assert_eq!(tokens.classify(Some("xoxb-sandbox")), AuthKind::Bot);
        assert_eq!(tokens.classify(Some("xapp-1-sandbox")), AuthKind::App);
        assert_eq!(tokens.classify(Some("xoxb-other")), AuthKind::Unknown);
        tokens
            .revoked
            .insert(std::mem::replace(&mut tokens.bot, "xoxb-new".into()));
        assert_eq!(tokens.classify(Some("xoxb-sandbox")), AuthKind::Revoked);
        assert_eq!(tokens.classify(Some("xoxb-new")), AuthKind::Bot);
    }
}
