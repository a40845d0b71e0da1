//! `chat.getPermalink` on `SlackMessenger`, and permalinks built without a call: from another
//! message's permalink, or from the workspace's URL.

use slack_morphism::prelude::*;

use super::{SlackApiError, SlackMessenger};
use crate::slack::interaction::{ChannelId, MessageTs};

impl SlackMessenger {
    pub(super) async fn permalink_call(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
    ) -> Result<String, SlackApiError> {
        let request =
            SlackApiChatGetPermalinkRequest::new(channel.0.clone().into(), ts.0.clone().into());
        let response = self
            .call("chat.getPermalink", None, || async {
                self.session(&self.token())
                    .chat_get_permalink(&request)
                    .await
            })
            .await?;
        Ok(response.permalink.to_string())
    }
}

/// The permalink of `ts` in `channel` (a reply in `thread` when given), in the workspace at
/// `team_url` (`https://example.slack.com/`), the way Slack writes them:
/// `…/archives/C…/p1700000000000100?thread_ts=1700000000.000100&cid=C…`.
pub fn permalink_from_team_url(
    team_url: &str,
    channel: &ChannelId,
    ts: &MessageTs,
    thread: Option<&MessageTs>,
) -> String {
    let mut link = format!(
        "{}/archives/{}/p{}",
        team_url.trim_end_matches('/'),
        channel.0,
        ts.0.replace('.', "")
    );
    if let Some(thread) = thread.filter(|thread| **thread != *ts) {
        link.push_str(&format!("?thread_ts={}&cid={}", thread.0, channel.0));
    }
    link
}

/// The permalink of `ts`, built like `known`, the permalink Slack gave for another message of
/// the same workspace: one `chat.getPermalink` serves a whole thread. `None` when `known` is
/// not shaped like a Slack permalink.
pub fn permalink_like(
    known: &str,
    channel: &ChannelId,
    ts: &MessageTs,
    thread: Option<&MessageTs>,
) -> Option<String> {
    let (workspace, _) = known.split_once("/archives/")?;
    Some(permalink_from_team_url(workspace, channel, ts, thread))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permalinks_are_built_the_way_slack_writes_them() {
        let (channel, root, reply) = (
            ChannelId("C0OPS".into()),
            MessageTs("1700000000.000100".into()),
            MessageTs("1700000042.000200".into()),
        );
        assert_eq!(
            permalink_from_team_url("https://acme.slack.com/", &channel, &root, Some(&root)),
            "https://acme.slack.com/archives/C0OPS/p1700000000000100"
        );
        assert_eq!(
            permalink_like(
                "https://acme.slack.com/archives/C0OPS/p1700000000000100",
                &channel,
                &reply,
                Some(&root)
            )
            .as_deref(),
            Some("https://acme.slack.com/archives/C0OPS/p1700000042000200?thread_ts=1700000000.000100&cid=C0OPS")
        );
        assert_eq!(permalink_like("not a link", &channel, &reply, None), None);
    }
}
