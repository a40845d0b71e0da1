//! Files: `files.getUploadURLExternal`, the upload URL that takes the bytes,
//! `files.completeUploadExternal` (sharing into a channel or thread) and `files.info`.
//!
//! An image block may name a file by `slack_file.id` only once the upload is complete, as on
//! Slack, where a file still processing is refused with `invalid_blocks`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use crate::slack::clock::{next_id, next_ts};
use crate::slack::messages::{str_param, StoredMessage};
use crate::slack::state::Shared;
use crate::slack::timeline::{lock, TimelineKind};

type Params = Map<String, Value>;

/// A file as the fake knows it, from the URL request to its sharing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// `F…`.
    pub id: String,
    pub filename: String,
    /// The `length` the client announced.
    pub declared_length: usize,
    /// The bytes posted to the upload URL (empty until then).
    pub bytes: Vec<u8>,
    /// The title given when completing.
    pub title: Option<String>,
    pub alt_text: Option<String>,
    /// True after `files.completeUploadExternal`.
    pub completed: bool,
    /// Where it was shared: channel, thread, and the ts of the message that shares it.
    pub shared_in: Option<SharedFile>,
    pub initial_comment: Option<String>,
}

/// Where `files.completeUploadExternal` shared a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFile {
    pub channel: String,
    pub thread_ts: Option<String>,
    pub ts: String,
}

/// Every file by id, plus whether image blocks naming files are refused.
#[derive(Debug, Default)]
pub(crate) struct FileStore {
    files: HashMap<String, UploadedFile>,
    /// The order files were asked for, for `FakeSlack::uploads`.
    order: Vec<String>,
    /// When set, a message with an image block naming a `slack_file` is refused (`invalid_blocks`),
    /// as Slack does while a file is still processing.
    pub(crate) refuse_file_images: bool,
}

impl FileStore {
    pub(crate) fn all(&self) -> Vec<UploadedFile> {
        self.order
            .iter()
            .filter_map(|id| self.files.get(id))
            .cloned()
            .collect()
    }
}

pub(crate) fn get_upload_url(shared: &Shared, params: &Params) -> Result<Value, &'static str> {
    let filename = str_param(params, "filename").filter(|f| !f.is_empty());
    let length = str_param(params, "length").and_then(|l| l.parse::<usize>().ok());
    let (Some(filename), Some(length)) = (filename, length) else {
        return Err("invalid_arguments");
    };
    if length == 0 {
        return Err("invalid_arguments");
    }
    let id = format!("F0SBX{:06X}", next_id());
    let upload_url = format!(
        "{}://{}/upload/{id}",
        shared.http_scheme(),
        shared.public(shared.api_addr)
    );
    let mut files = lock(&shared.files);
    files.order.push(id.clone());
    files.files.insert(
        id.clone(),
        UploadedFile {
            id: id.clone(),
            filename,
            declared_length: length,
            bytes: Vec::new(),
            title: None,
            alt_text: str_param(params, "alt_txt"),
            completed: false,
            shared_in: None,
            initial_comment: None,
        },
    );
    Ok(json!({"ok": true, "upload_url": upload_url, "file_id": id}))
}

/// `POST /upload/{id}`: the bytes of a file whose URL was handed out; Slack answers `OK - <n>`.
pub(crate) async fn receive_bytes(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> (StatusCode, String) {
    let mut files = lock(&shared.files);
    let Some(file) = files.files.get_mut(&id) else {
        return (StatusCode::NOT_FOUND, "file not found".into());
    };
    file.bytes = body.to_vec();
    let n = file.bytes.len();
    drop(files);
    shared.note(TimelineKind::ApiCall, format!("upload {id}: {n} bytes"));
    (StatusCode::OK, format!("OK - {n}"))
}

pub(crate) fn complete_upload(
    shared: &Shared,
    params: &Params,
    channel: Option<String>,
) -> Result<Value, &'static str> {
    let requested = params
        .get("files")
        .and_then(Value::as_array)
        .filter(|files| !files.is_empty())
        .ok_or("invalid_arguments")?;
    let thread_ts = str_param(params, "thread_ts");
    let initial_comment = str_param(params, "initial_comment");
    let mut files = lock(&shared.files);
    let mut answered = Vec::new();
    for entry in requested {
        let id = entry.get("id").and_then(Value::as_str).unwrap_or_default();
        let file = files.files.get(id).ok_or("file_not_found")?;
        // Slack completes only what was uploaded in full.
        if file.bytes.is_empty() || file.bytes.len() != file.declared_length {
            return Err("file_not_found");
        }
    }
    let share_ts = channel.as_ref().map(|_| next_ts());
    for entry in requested {
        let id = entry.get("id").and_then(Value::as_str).unwrap_or_default();
        let Some(file) = files.files.get_mut(id) else {
            continue;
        };
        file.completed = true;
        file.title = entry
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_owned);
        file.initial_comment.clone_from(&initial_comment);
        if let (Some(channel), Some(ts)) = (&channel, &share_ts) {
            file.shared_in = Some(SharedFile {
                channel: channel.clone(),
                thread_ts: thread_ts.clone(),
                ts: ts.clone(),
            });
        }
        answered.push(json!({"id": file.id, "title": file.title}));
    }
    drop(files);
    if let (Some(channel), Some(ts)) = (channel, share_ts) {
        // The file shows in the channel (or thread) as a message of the bot's.
        let mut share = Map::new();
        let title = answered[0]["title"].as_str().unwrap_or("file").to_owned();
        share.insert("text".into(), initial_comment.unwrap_or(title).into());
        if let Some(thread) = thread_ts {
            share.insert("thread_ts".into(), thread.into());
        }
        lock(&shared.messages).insert(StoredMessage::from_post(&channel, ts, &share));
    }
    Ok(json!({"ok": true, "files": answered}))
}

pub(crate) fn info(shared: &Shared, params: &Params) -> Result<Value, &'static str> {
    let id = str_param(params, "file").unwrap_or_default();
    let files = lock(&shared.files);
    let file = files.files.get(&id).ok_or("file_not_found")?;
    Ok(json!({"ok": true, "file": {
        "id": file.id, "name": file.filename, "title": file.title,
        "size": file.bytes.len(), "is_public": file.shared_in.is_some(),
    }}))
}

/// `Err("invalid_blocks")` when an image block names a file that is not complete (or not known),
/// or when file images are refused (`FakeSlack::refuse_file_images`).
pub(crate) fn check_image_files(shared: &Shared, params: &Params) -> Result<(), &'static str> {
    // Blocks of the message itself, and of its attachments (where a colour bar puts them).
    let attached = params
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("blocks").and_then(Value::as_array));
    let named: Vec<&str> = params
        .get("blocks")
        .and_then(Value::as_array)
        .into_iter()
        .chain(attached)
        .flatten()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("image"))
        .filter_map(|b| b.pointer("/slack_file/id").and_then(Value::as_str))
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let files = lock(&shared.files);
    let usable = |id: &&str| files.files.get(*id).is_some_and(|f| f.completed);
    if files.refuse_file_images || !named.iter().all(usable) {
        return Err("invalid_blocks");
    }
    Ok(())
}
