//! File uploads over loopback against the fake Slack: the three steps, sharing into a thread,
//! a private upload shown in an image block, refusals and a lost answer.

use std::time::Duration;

use chatops_bot::slack::interaction::{ChannelId, MessageTs};
use chatops_bot::slack::message::{Block, FileId, ImageSource, Message, Mrkdwn, Standing};
use chatops_bot::slack::messenger::{FileUpload, Messenger, SlackApiError, SlackMessenger};
use chatops_sandbox::slack::{FakeSlack, FakeSlackOptions, HttpFault};

const CHANNEL: &str = "C0ALERTS";

fn messenger(slack: &FakeSlack) -> SlackMessenger {
    let url = url::Url::parse(&slack.api_url()).unwrap();
    let token = slack.options().bot_token.clone().into();
    SlackMessenger::new(
        &url,
        &token,
        Duration::from_secs(2),
        &chatops_bot::config::ProxySettings::default(),
    )
    .unwrap()
}

fn upload(channel: Option<&str>, thread: Option<&str>, bytes: Vec<u8>) -> FileUpload {
    FileUpload {
        channel: channel.map(|c| ChannelId(c.into())),
        thread: thread.map(|t| MessageTs(t.into())),
        filename: "graph.png".into(),
        title: "cpu-high, last 3 hours".into(),
        initial_comment: None,
        alt_text: Some("CPUUtilization".into()),
        bytes,
    }
}

fn image_card(file: &FileId) -> Message {
    Message {
        text: "cpu-high".into(),
        blocks: vec![
            Block::Header("cpu-high".into()),
            Block::Image {
                source: ImageSource::SlackFile(file.clone()),
                alt: "graph".into(),
            },
        ],
        accent: None,
        post_id: None,
        standing: Standing::Plain,
    }
}

#[tokio::test]
async fn a_file_is_uploaded_in_three_steps_and_shared_in_the_thread() {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let root = messenger(&slack)
        .post(&ChannelId(CHANNEL.into()), None, &image_card_text())
        .await
        .unwrap();
    let mut file = upload(Some(CHANNEL), Some(&root.0), bytes.clone());
    file.initial_comment = Some("Output of `aws ec2 describe-instances`".into());
    let uploaded = messenger(&slack).upload_file(&file).await.unwrap();

    let methods: Vec<String> = slack.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(
        methods,
        [
            "chat.postMessage",
            "files.getUploadURLExternal",
            "files.completeUploadExternal"
        ]
    );
    let stored = slack.uploads();
    assert_eq!(stored.len(), 1);
    let stored = &stored[0];
    assert_eq!(stored.id, uploaded.id.0);
    assert_eq!(stored.bytes, bytes, "every byte arrived");
    assert_eq!(stored.declared_length, 5000);
    assert_eq!(stored.filename, "graph.png");
    assert_eq!(stored.title.as_deref(), Some("cpu-high, last 3 hours"));
    assert_eq!(stored.alt_text.as_deref(), Some("CPUUtilization"));
    assert!(stored.completed);
    let shared = stored.shared_in.as_ref().expect("shared in the channel");
    assert_eq!(shared.channel, CHANNEL);
    assert_eq!(shared.thread_ts.as_deref(), Some(root.0.as_str()));
    let thread: Vec<String> = slack
        .messages(CHANNEL)
        .iter()
        .filter(|m| m.thread_ts.as_deref() == Some(root.0.as_str()))
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(thread, ["Output of `aws ec2 describe-instances`"]);
    slack.shutdown().await;
}

fn image_card_text() -> Message {
    Message::markdown(Mrkdwn::trusted("🔴 cpu-high"))
}

#[tokio::test]
async fn a_private_upload_can_be_shown_in_an_image_block_and_an_unknown_file_cannot() {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    let slack_api = messenger(&slack);
    let channel = ChannelId(CHANNEL.into());
    let uploaded = slack_api
        .upload_file(&upload(None, None, vec![0x89, b'P', b'N', b'G']))
        .await
        .unwrap();
    assert_eq!(slack.uploads()[0].shared_in, None, "kept private");
    assert!(slack.messages(CHANNEL).is_empty());

    let ts = slack_api
        .post(&channel, None, &image_card_text())
        .await
        .unwrap();
    slack_api
        .update(&channel, &ts, &image_card(&uploaded.id))
        .await
        .expect("an image block may name the bot's completed upload");
    let card = &slack.messages(CHANNEL)[0];
    let blocks = card.blocks.as_ref().unwrap();
    assert_eq!(blocks[1]["slack_file"]["id"], uploaded.id.0.as_str());

    let unknown = slack_api
        .update(&channel, &ts, &image_card(&FileId("F0NOPE".into())))
        .await;
    assert!(
        matches!(&unknown, Err(SlackApiError::Rejected { code, .. }) if code == "invalid_blocks"),
        "{unknown:?}"
    );
    slack.refuse_file_images(true);
    let refused = slack_api
        .update(&channel, &ts, &image_card(&uploaded.id))
        .await;
    assert!(
        matches!(&refused, Err(SlackApiError::Rejected { code, .. }) if code == "invalid_blocks"),
        "{refused:?}"
    );
    slack.shutdown().await;
}

#[tokio::test]
async fn refusals_are_typed_and_an_empty_file_is_refused_without_a_call() {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    let slack_api = messenger(&slack);
    let empty = slack_api.upload_file(&upload(None, None, Vec::new())).await;
    assert!(
        matches!(&empty, Err(SlackApiError::Rejected { code, .. }) if code == "invalid_length"),
        "{empty:?}"
    );
    assert!(slack.calls().is_empty(), "no call for an empty file");

    let nowhere = slack_api
        .upload_file(&upload(Some("C0NOWHERE"), None, vec![1, 2, 3]))
        .await;
    assert!(nowhere.is_ok(), "the fake knows any plausible channel id");
    let refused_channel = {
        let strict = FakeSlack::start(FakeSlackOptions {
            known_channels: Some(vec![CHANNEL.into()]),
            ..FakeSlackOptions::default()
        })
        .await
        .unwrap();
        let outcome = messenger(&strict)
            .upload_file(&upload(Some("C0NOWHERE"), None, vec![1, 2, 3]))
            .await;
        strict.shutdown().await;
        outcome
    };
    assert!(
        matches!(&refused_channel, Err(SlackApiError::Rejected { method, code })
            if *method == "files.completeUploadExternal" && code == "channel_not_found"),
        "{refused_channel:?}"
    );
    slack.shutdown().await;
}

#[tokio::test]
async fn a_lost_answer_to_the_url_request_is_retried_and_the_file_still_arrives() {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    slack.fail_next("files.getUploadURLExternal", HttpFault::ResponseLost, 1);
    slack.fail_next("files.completeUploadExternal", HttpFault::ServerError, 1);
    let uploaded = messenger(&slack)
        .upload_file(&upload(Some(CHANNEL), None, vec![7; 300]))
        .await
        .expect("retried past a lost answer and a 503");
    let uploads = slack.uploads();
    assert_eq!(uploads.len(), 2, "the lost answer's URL went unused");
    assert!(!uploads[0].completed && uploads[0].bytes.is_empty());
    assert_eq!(uploads[1].id, uploaded.id.0);
    assert!(uploads[1].completed);
    assert_eq!(uploads[1].bytes, vec![7; 300]);
    let shares = slack.messages(CHANNEL).len();
    assert_eq!(shares, 1, "shared once");
    slack.shutdown().await;
}
